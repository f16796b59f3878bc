import Foundation

/// `networking.k8s.io/v1` Ingress: HTTP(S) routes by host and path to Services, carried by
/// the class's data plane (Berth's: HAProxy on the ingress nodes).
public struct Ingress: Codable, Sendable, Hashable {
    public var apiVersion: String? = "networking.k8s.io/v1"
    public var kind: String? = "Ingress"
    public var metadata: ObjectMeta
    public var spec: IngressSpec?
    public var status: IngressStatus?

    public static let pathTypes = ["Exact", "ImplementationSpecific", "Prefix"]
}

public struct IngressSpec: Codable, Sendable, Hashable {
    public var ingressClassName: String?
    public var defaultBackend: IngressBackend?
    public var tls: [IngressTLS]?
    public var rules: [IngressRule]?
}

public struct IngressBackend: Codable, Sendable, Hashable {
    public var service: IngressServiceBackend?
    public var resource: TypedLocalObjectReference?
}

public struct IngressServiceBackend: Codable, Sendable, Hashable {
    public var name: String
    public var port: ServiceBackendPort?
}

public struct ServiceBackendPort: Codable, Sendable, Hashable {
    public var name: String?
    public var number: Int?

    public init(name: String? = nil, number: Int? = nil) {
        self.name = name
        self.number = number
    }
}

public struct TypedLocalObjectReference: Codable, Sendable, Hashable {
    public var apiGroup: String?
    public var kind: String
    public var name: String
}

public struct IngressTLS: Codable, Sendable, Hashable {
    public var hosts: [String]?
    public var secretName: String?
}

public struct IngressRule: Codable, Sendable, Hashable {
    public var host: String?
    public var http: HTTPIngressRuleValue?
}

public struct HTTPIngressRuleValue: Codable, Sendable, Hashable {
    public var paths: [HTTPIngressPath]
}

public struct HTTPIngressPath: Codable, Sendable, Hashable {
    public var path: String?
    public var pathType: String?
    public var backend: IngressBackend
}

public struct IngressStatus: Codable, Sendable, Hashable {
    public var loadBalancer: IngressLoadBalancerStatus?
}

public struct IngressLoadBalancerStatus: Codable, Sendable, Hashable {
    public var ingress: [IngressLoadBalancerIngress]?
}

public struct IngressLoadBalancerIngress: Codable, Sendable, Hashable {
    public var ip: String?
    public var hostname: String?

    public init(ip: String?, hostname: String?) {
        self.ip = ip
        self.hostname = hostname
    }
}

extension Ingress: APIResource {
    public static func applyDefaults(_ object: inout Ingress) {}

    public static func validate(_ object: Ingress, old: Ingress?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if let name = spec.ingressClassName { errors.check("spec.ingressClassName", name, NameValidation.dns1123SubdomainProblem(name)) }
        if spec.defaultBackend == nil && (spec.rules ?? []).isEmpty {
            errors.invalid("spec", "", "either `defaultBackend` or `rules` must be specified")
        }
        if let backend = spec.defaultBackend { validate(backend, field: "spec.defaultBackend", into: &errors) }
        for (index, rule) in (spec.rules ?? []).enumerated() {
            let field = "spec.rules[\(index)]"
            if let host = rule.host, let problem = hostProblem(host) { errors.invalid("\(field).host", host, problem) }
            guard let http = rule.http else { continue }
            if http.paths.isEmpty { errors.required("\(field).http.paths") }
            for (number, path) in http.paths.enumerated() {
                let pathField = "\(field).http.paths[\(number)]"
                guard let type = path.pathType else {
                    errors.required("\(pathField).pathType")
                    continue
                }
                if !pathTypes.contains(type) { errors.notSupported("\(pathField).pathType", type, pathTypes) }
                let text = path.path ?? ""
                if type != "ImplementationSpecific" || !text.isEmpty {
                    if !text.hasPrefix("/") {
                        errors.invalid("\(pathField).path", text, "must be an absolute path")
                    } else if type != "ImplementationSpecific", text.contains("//") || text.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
                        errors.invalid("\(pathField).path", text, "must not contain '//', '/./' or '/../'")
                    } else if text.utf8.contains(where: { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "#") }) {
                        errors.invalid("\(pathField).path", text, "must not contain spaces, control characters, '\"' or '#'")
                    }
                }
                validate(path.backend, field: "\(pathField).backend", into: &errors)
            }
        }
        for (index, tls) in (spec.tls ?? []).enumerated() {
            for (number, host) in (tls.hosts ?? []).enumerated() {
                if let problem = hostProblem(host) { errors.invalid("spec.tls[\(index)].hosts[\(number)]", host, problem) }
            }
            if let secret = tls.secretName { errors.check("spec.tls[\(index)].secretName", secret, NameValidation.dns1123SubdomainProblem(secret)) }
        }
        return errors
    }

    static func validate(_ backend: IngressBackend, field: String, into errors: inout FieldErrors) {
        switch (backend.service, backend.resource) {
        case (nil, nil): errors.invalid(field, "", "one backend (`service` or `resource`) must be specified")
        case (.some, .some): errors.invalid(field, "", "cannot set both `service` and `resource` backends")
        case (let service?, nil):
            errors.check("\(field).service.name", service.name, NameValidation.dns1123LabelProblem(service.name))
            switch (service.port?.name, service.port?.number) {
            case (nil, nil): errors.required("\(field).service.port")
            case (.some, .some): errors.invalid("\(field).service.port", "", "cannot set both port name & port number")
            case (let name?, nil): errors.check("\(field).service.port.name", name, NameValidation.portNameProblem(name))
            case (nil, let number?):
                if !(1...65535).contains(number) { errors.invalid("\(field).service.port.number", String(number), "must be between 1 and 65535, inclusive") }
            }
        case (nil, .some): break
        }
    }

    /// A DNS name, optionally with a leading `*.` wildcard label; never an IP address.
    public static func hostProblem(_ host: String) -> String? {
        if IPv4.isValid(host) || host.contains(":") { return "must be a DNS name, not an IP address" }
        let name = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
        if name.contains("*") { return "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain" }
        return NameValidation.dns1123SubdomainProblem(name)
    }
}

/// `networking.k8s.io/v1` IngressClass: which controller carries Ingresses of a class; the
/// one annotated `ingressclass.kubernetes.io/is-default-class: "true"` takes Ingresses that
/// name no class. Berth creates `berth` (controller `berth.dev/ingress`) as the default.
public struct IngressClass: Codable, Sendable, Hashable {
    public var apiVersion: String? = "networking.k8s.io/v1"
    public var kind: String? = "IngressClass"
    public var metadata: ObjectMeta
    public var spec: IngressClassSpec?

    public init(metadata: ObjectMeta, spec: IngressClassSpec?) {
        self.metadata = metadata
        self.spec = spec
    }

    public static let berthController = "berth.dev/ingress"
    public static let defaultAnnotation = "ingressclass.kubernetes.io/is-default-class"
}

public struct IngressClassSpec: Codable, Sendable, Hashable {
    public var controller: String?
    public var parameters: JSONValue?

    public init(controller: String?, parameters: JSONValue? = nil) {
        self.controller = controller
        self.parameters = parameters
    }
}

extension IngressClass: APIResource {
    public static func applyDefaults(_ object: inout IngressClass) {}

    public static func validate(_ object: IngressClass, old: IngressClass?) -> FieldErrors {
        var errors = FieldErrors()
        let controller = object.spec?.controller ?? ""
        if controller.isEmpty {
            errors.required("spec.controller")
        } else if let old, let previous = old.spec?.controller, previous != controller {
            errors.invalid("spec.controller", controller, "field is immutable")
        } else if controller.utf8.count > 250 {
            errors.invalid("spec.controller", controller, "must be no more than 250 characters")
        }
        return errors
    }
}

extension ResourceDescriptor {
    public static let ingress = ResourceDescriptor(
        Ingress.self, group: "networking.k8s.io", plural: "ingresses", shortNames: ["ing"], subresources: ["status"], tracksGeneration: true,
        columns: [
            TableColumn("Class", "The IngressClass of the Ingress."), TableColumn("Hosts", "The hosts its rules name."),
            TableColumn("Address", "Where the Ingress is reachable."), TableColumn("Ports", "80, and 443 with TLS."), ageColumn,
        ]
    ) { object, now in
        let hosts = (object.value(at: ["spec", "rules"])?.arrayValue ?? []).compactMap { $0["host"]?.stringValue }
        let addresses = (object.value(at: ["status", "loadBalancer", "ingress"])?.arrayValue ?? []).compactMap { $0["ip"]?.stringValue ?? $0["hostname"]?.stringValue }
        let tls = !(object.value(at: ["spec", "tls"])?.arrayValue ?? []).isEmpty
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "ingressClassName") ?? "<none>"),
            .string(hosts.isEmpty ? "*" : hosts.joined(separator: ",")), .string(addresses.joined(separator: ",")),
            .string(tls ? "80, 443" : "80"), TableCells.age(object, now: now),
        ]
    }

    public static let ingressClass = ResourceDescriptor(
        IngressClass.self, group: "networking.k8s.io", plural: "ingressclasses", namespaced: false,
        columns: [TableColumn("Controller", "The controller that carries the class."), TableColumn("Parameters", "Its parameters."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "controller") ?? ""),
         .string(object.value(at: ["spec", "parameters"]).map { _ in "set" } ?? "<none>"), TableCells.age(object, now: now)]
    }
}
