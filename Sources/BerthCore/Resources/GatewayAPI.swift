import Foundation

/// Gateway API `gateway.networking.k8s.io/v1`: GatewayClass, Gateway and HTTPRoute, the core
/// features carried by Berth's ingress data plane (HAProxy) beside Ingresses. Fields outside
/// the core that users' manifests commonly carry (`requestMirror`, `extensionRef`,
/// `sessionPersistence`) are kept as given, so a manifest round-trips; the data plane reports
/// them as unsupported in the route's status.
public struct GatewayClass: Codable, Sendable, Hashable {
    public var apiVersion: String? = "gateway.networking.k8s.io/v1"
    public var kind: String? = "GatewayClass"
    public var metadata: ObjectMeta
    public var spec: GatewayClassSpec?
    public var status: GatewayClassStatus?

    public init(metadata: ObjectMeta, spec: GatewayClassSpec?) {
        self.metadata = metadata
        self.spec = spec
    }

    /// The controller name of Berth's data plane (the class `berth` the server creates).
    public static let berthController = "berth.dev/gateway"
}

public struct GatewayClassSpec: Codable, Sendable, Hashable {
    public var controllerName: String
    public var description: String?
    public var parametersRef: JSONValue?

    public init(controllerName: String, description: String? = nil) {
        self.controllerName = controllerName
        self.description = description
    }
}

public struct GatewayClassStatus: Codable, Sendable, Hashable {
    public var conditions: [Condition]?
    public var supportedFeatures: [JSONValue]?

    public init(conditions: [Condition]? = nil) { self.conditions = conditions }
}

public struct Gateway: Codable, Sendable, Hashable {
    public var apiVersion: String? = "gateway.networking.k8s.io/v1"
    public var kind: String? = "Gateway"
    public var metadata: ObjectMeta
    public var spec: GatewaySpec?
    public var status: GatewayStatus?
}

public struct GatewaySpec: Codable, Sendable, Hashable {
    public var gatewayClassName: String
    public var listeners: [GatewayListener]
    public var addresses: [GatewayAddress]?
    public var infrastructure: JSONValue?
}

public struct GatewayListener: Codable, Sendable, Hashable {
    public var name: String
    public var hostname: String?
    public var port: Int
    public var `protocol`: String
    public var tls: GatewayTLSConfig?
    public var allowedRoutes: AllowedRoutes?

    public static let protocols = ["HTTP", "HTTPS"]
}

public struct GatewayTLSConfig: Codable, Sendable, Hashable {
    public var mode: String?
    public var certificateRefs: [SecretObjectReference]?
    public var options: [String: String]?
}

public struct SecretObjectReference: Codable, Sendable, Hashable {
    public var group: String?
    public var kind: String?
    public var name: String
    public var namespace: String?
}

public struct AllowedRoutes: Codable, Sendable, Hashable {
    public var namespaces: RouteNamespaces?
    public var kinds: [RouteGroupKind]?
}

public struct RouteNamespaces: Codable, Sendable, Hashable {
    /// `Same` (the default), `All` or `Selector`.
    public var from: String?
    public var selector: LabelSelectorSpec?
}

public struct RouteGroupKind: Codable, Sendable, Hashable {
    public var group: String?
    public var kind: String

    public init(group: String?, kind: String) {
        self.group = group
        self.kind = kind
    }
}

public struct GatewayAddress: Codable, Sendable, Hashable {
    public var type: String?
    public var value: String

    public init(type: String?, value: String) {
        self.type = type
        self.value = value
    }
}

public struct GatewayStatus: Codable, Sendable, Hashable {
    public var addresses: [GatewayAddress]?
    public var conditions: [Condition]?
    public var listeners: [ListenerStatus]?

    public init(addresses: [GatewayAddress]?, conditions: [Condition]?, listeners: [ListenerStatus]?) {
        self.addresses = addresses
        self.conditions = conditions
        self.listeners = listeners
    }
}

public struct ListenerStatus: Codable, Sendable, Hashable {
    public var name: String
    public var supportedKinds: [RouteGroupKind]
    public var attachedRoutes: Int
    public var conditions: [Condition]

    public init(name: String, supportedKinds: [RouteGroupKind], attachedRoutes: Int, conditions: [Condition]) {
        self.name = name
        self.supportedKinds = supportedKinds
        self.attachedRoutes = attachedRoutes
        self.conditions = conditions
    }
}

public struct HTTPRoute: Codable, Sendable, Hashable {
    public var apiVersion: String? = "gateway.networking.k8s.io/v1"
    public var kind: String? = "HTTPRoute"
    public var metadata: ObjectMeta
    public var spec: HTTPRouteSpec?
    public var status: HTTPRouteStatus?
}

public struct HTTPRouteSpec: Codable, Sendable, Hashable {
    public var parentRefs: [ParentReference]?
    public var hostnames: [String]?
    public var rules: [HTTPRouteRule]?
}

public struct ParentReference: Codable, Sendable, Hashable {
    public var group: String?
    public var kind: String?
    public var namespace: String?
    public var name: String
    public var sectionName: String?
    public var port: Int?

    public init(group: String?, kind: String?, namespace: String?, name: String, sectionName: String?, port: Int?) {
        self.group = group
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.sectionName = sectionName
        self.port = port
    }
}

public struct HTTPRouteRule: Codable, Sendable, Hashable {
    public var name: String?
    public var matches: [HTTPRouteMatch]?
    public var filters: [HTTPRouteFilter]?
    public var backendRefs: [HTTPBackendRef]?
    public var timeouts: HTTPRouteTimeouts?
    public var sessionPersistence: JSONValue?
}

public struct HTTPRouteMatch: Codable, Sendable, Hashable {
    public var path: HTTPPathMatch?
    public var headers: [HTTPValueMatch]?
    public var queryParams: [HTTPValueMatch]?
    public var method: String?
}

public struct HTTPPathMatch: Codable, Sendable, Hashable {
    /// `PathPrefix` (the default), `Exact` or `RegularExpression`.
    public var type: String?
    public var value: String?

    public init(type: String?, value: String?) {
        self.type = type
        self.value = value
    }

    public static let types = ["Exact", "PathPrefix", "RegularExpression"]
}

/// A header or query parameter match: `Exact` (the default) or `RegularExpression`.
public struct HTTPValueMatch: Codable, Sendable, Hashable {
    public var type: String?
    public var name: String
    public var value: String

    public static let types = ["Exact", "RegularExpression"]
}

public struct HTTPRouteFilter: Codable, Sendable, Hashable {
    public var type: String
    public var requestHeaderModifier: HTTPHeaderFilter?
    public var responseHeaderModifier: HTTPHeaderFilter?
    public var requestRedirect: HTTPRequestRedirectFilter?
    public var urlRewrite: HTTPURLRewriteFilter?
    public var requestMirror: JSONValue?
    public var extensionRef: JSONValue?

    public static let types = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "RequestMirror", "ExtensionRef"]
    /// What Berth's data plane carries out.
    public static let supported: Set<String> = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"]
}

public struct HTTPHeaderFilter: Codable, Sendable, Hashable {
    public var set: [HTTPHeader]?
    public var add: [HTTPHeader]?
    public var remove: [String]?
}

public struct HTTPRequestRedirectFilter: Codable, Sendable, Hashable {
    public var scheme: String?
    public var hostname: String?
    public var path: HTTPPathModifier?
    public var port: Int?
    public var statusCode: Int?
}

public struct HTTPURLRewriteFilter: Codable, Sendable, Hashable {
    public var hostname: String?
    public var path: HTTPPathModifier?
}

public struct HTTPPathModifier: Codable, Sendable, Hashable {
    /// `ReplaceFullPath` or `ReplacePrefixMatch`.
    public var type: String
    public var replaceFullPath: String?
    public var replacePrefixMatch: String?
}

public struct HTTPBackendRef: Codable, Sendable, Hashable {
    public var group: String?
    public var kind: String?
    public var name: String
    public var namespace: String?
    public var port: Int?
    public var weight: Int?
    public var filters: [HTTPRouteFilter]?
}

public struct HTTPRouteTimeouts: Codable, Sendable, Hashable {
    public var request: String?
    public var backendRequest: String?
}

public struct HTTPRouteStatus: Codable, Sendable, Hashable {
    public var parents: [RouteParentStatus]

    public init(parents: [RouteParentStatus]) { self.parents = parents }
}

public struct RouteParentStatus: Codable, Sendable, Hashable {
    public var parentRef: ParentReference
    public var controllerName: String
    public var conditions: [Condition]

    public init(parentRef: ParentReference, controllerName: String, conditions: [Condition]) {
        self.parentRef = parentRef
        self.controllerName = controllerName
        self.conditions = conditions
    }
}

extension ResourceDescriptor {
    public static let gatewayClass = ResourceDescriptor(
        GatewayClass.self, group: GatewayValidation.group, plural: "gatewayclasses", namespaced: false, shortNames: ["gc"], subresources: ["status"],
        tracksGeneration: true,
        columns: [TableColumn("Controller", "The controller that carries the class."), TableColumn("Accepted", "Whether the controller accepted the class."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "controllerName") ?? ""),
         .string(GatewayCells.condition(object, "Accepted")), TableCells.age(object, now: now)]
    }

    public static let gateway = ResourceDescriptor(
        Gateway.self, group: GatewayValidation.group, plural: "gateways", shortNames: ["gtw"], subresources: ["status"], tracksGeneration: true,
        columns: [
            TableColumn("Class", "The GatewayClass of the Gateway."), TableColumn("Address", "Where the Gateway is reachable."),
            TableColumn("Programmed", "Whether the data plane carries the Gateway."), ageColumn,
        ]
    ) { object, now in
        let addresses = (object.value(at: ["status", "addresses"])?.arrayValue ?? []).compactMap { $0["value"]?.stringValue }
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "gatewayClassName") ?? ""),
                .string(addresses.joined(separator: ",")), .string(GatewayCells.condition(object, "Programmed")), TableCells.age(object, now: now)]
    }

    public static let httpRoute = ResourceDescriptor(
        HTTPRoute.self, group: GatewayValidation.group, plural: "httproutes", subresources: ["status"], tracksGeneration: true,
        columns: [TableColumn("Hostnames", "The hostnames the route answers."), ageColumn]
    ) { object, now in
        let hostnames = (object.value(at: ["spec", "hostnames"])?.arrayValue ?? []).compactMap(\.stringValue)
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(hostnames.isEmpty ? "" : "[\"" + hostnames.joined(separator: "\",\"") + "\"]"),
                TableCells.age(object, now: now)]
    }
}

enum GatewayCells {
    /// A condition's status (`True`, `False`, `Unknown`), or `Unknown` when not reported.
    static func condition(_ object: JSONValue, _ type: String) -> String {
        let conditions = object.value(at: ["status", "conditions"])?.arrayValue ?? []
        return conditions.first { $0["type"]?.stringValue == type }?["status"]?.stringValue ?? "Unknown"
    }
}
