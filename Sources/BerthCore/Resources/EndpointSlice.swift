/// `discovery.k8s.io/v1` EndpointSlice: a Service's endpoints in slices of at most 100, each
/// endpoint with its conditions (ready, serving, terminating). Berth keeps them in step with
/// Endpoints (`EndpointSliceController`); `kubectl describe service` reads them.
public struct EndpointSlice: Codable, Sendable, Hashable {
    public var apiVersion: String? = "discovery.k8s.io/v1"
    public var kind: String? = "EndpointSlice"
    public var metadata: ObjectMeta
    public var addressType: String
    public var endpoints: [SliceEndpoint]?
    public var ports: [SlicePort]?

    public init(metadata: ObjectMeta, addressType: String, endpoints: [SliceEndpoint]?, ports: [SlicePort]?) {
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    /// The label naming the Service a slice belongs to.
    public static let serviceNameLabel = "kubernetes.io/service-name"
    /// The label naming the controller that manages a slice.
    public static let managedByLabel = "endpointslice.kubernetes.io/managed-by"
    public static let addressTypes = ["IPv4", "IPv6", "FQDN"]
    /// Kubernetes' default (`--max-endpoints-per-slice`), and its hard limit for one slice.
    public static let maximumEndpoints = 100
    public static let limitEndpoints = 1_000
}

public struct SliceEndpoint: Codable, Sendable, Hashable {
    public var addresses: [String]
    public var conditions: EndpointConditions?
    public var hostname: String?
    public var targetRef: ObjectReference?
    public var nodeName: String?
    public var zone: String?
    public var hints: JSONValue?
    public var deprecatedTopology: [String: String]?

    public init(addresses: [String], conditions: EndpointConditions? = nil, hostname: String? = nil, targetRef: ObjectReference? = nil, nodeName: String? = nil) {
        self.addresses = addresses
        self.conditions = conditions
        self.hostname = hostname
        self.targetRef = targetRef
        self.nodeName = nodeName
    }
}

public struct EndpointConditions: Codable, Sendable, Hashable {
    public var ready: Bool?
    public var serving: Bool?
    public var terminating: Bool?

    public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }
}

public struct SlicePort: Codable, Sendable, Hashable {
    public var name: String?
    public var `protocol`: String?
    public var port: Int32?
    public var appProtocol: String?

    public init(name: String?, protocol: String?, port: Int32?, appProtocol: String? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.appProtocol = appProtocol
    }
}

extension EndpointSlice: APIResource {
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { object["addressType"] != old["addressType"] }

    public static func validate(_ object: EndpointSlice, old: EndpointSlice?) -> FieldErrors {
        var errors = FieldErrors()
        if !addressTypes.contains(object.addressType) { errors.notSupported("addressType", object.addressType, addressTypes) }
        if let old, old.addressType != object.addressType { errors.immutable("addressType") }
        let endpoints = object.endpoints ?? []
        if endpoints.count > limitEndpoints { errors.tooMany("endpoints", endpoints.count, limitEndpoints) }
        for (index, endpoint) in endpoints.enumerated() {
            let path = "endpoints[\(index)].addresses"
            if endpoint.addresses.isEmpty { errors.required(path) }
            if endpoint.addresses.count > 100 { errors.tooMany(path, endpoint.addresses.count, 100) }
            for (position, address) in endpoint.addresses.enumerated() where object.addressType == "IPv4" && !IPv4.isValid(address) {
                errors.invalid("\(path)[\(position)]", address, "must be a valid IPv4 address")
            }
        }
        if (object.ports ?? []).count > 20_000 { errors.tooMany("ports", object.ports?.count ?? 0, 20_000) }
        for (index, port) in (object.ports ?? []).enumerated() {
            if let number = port.port, !(0...65535).contains(number) { errors.invalid("ports[\(index)].port", String(number), "must be between 0 and 65535, inclusive") }
            if let proto = port.protocol, !["TCP", "UDP", "SCTP"].contains(proto) { errors.notSupported("ports[\(index)].protocol", proto, ["SCTP", "TCP", "UDP"]) }
        }
        return errors
    }
}
