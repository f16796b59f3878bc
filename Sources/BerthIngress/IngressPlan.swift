import BerthCore
import Foundation

/// What the data plane must do for a set of Ingresses: routes by host and path, the backends
/// they reach with their endpoints, the certificates by SNI, and what could not be honoured
/// (reported as Events; every other route keeps working). Pure: the agent gathers the inputs
/// and applies the result.
public struct IngressPlan: Equatable, Sendable {
    public var routes: [Route] = []
    public var backends: [Backend] = []
    public var defaultBackend: String?
    public var certificates: [Certificate] = []
    public var problems: [Problem] = []

    public init() {}

    public struct Route: Equatable, Sendable {
        /// Lowercased; `*.example.test` matches one label; nil matches every host.
        public var host: String?
        public var path: String
        public var exact: Bool
        public var backend: String
        /// `namespace/name` of the Ingress.
        public var source: String
        public var options = IngressAnnotations.RouteOptions()
    }

    public struct Backend: Equatable, Sendable {
        public var name: String
        public var servers: [Server]
        public var options = IngressAnnotations.BackendOptions()
    }

    public struct Server: Equatable, Hashable, Sendable {
        public var ip: String
        public var port: Int
        public init(ip: String, port: Int) {
            self.ip = ip
            self.port = port
        }
    }

    public struct Certificate: Equatable, Sendable {
        /// `namespace/name` of the TLS Secret.
        public var secret: String
        public var hosts: [String]

        public init(secret: String, hosts: [String]) {
            self.secret = secret
            self.hosts = hosts
        }
    }

    public struct Problem: Equatable, Sendable {
        public var ingress: String
        public var reason: String
        public var message: String
    }
}

/// The endpoints of a Service port as the planner needs them: nil when the Service (or the
/// named port) does not exist.
public typealias EndpointLookup = @Sendable (_ namespace: String, _ service: String, _ port: ServiceBackendPort?) -> [IngressPlan.Server]?

public enum IngressPlanner {
    /// `ingresses` are those of this data plane's class. `secrets` holds `namespace/name` of
    /// the TLS Secrets that exist and carry a certificate and key.
    public static func plan(_ ingresses: [Ingress], endpoints: EndpointLookup, secrets: Set<String>) -> IngressPlan {
        var plan = IngressPlan()
        var backends: [String: IngressPlan.Backend] = [:]
        var claimed: [String: String] = [:]  // host|path|exact → ingress that holds it
        // The oldest Ingress keeps a contested host and path (then the name decides), as
        // ingress-nginx resolves duplicates.
        let ordered = ingresses.sorted {
            let (a, b) = ($0.metadata.creationTimestamp ?? "", $1.metadata.creationTimestamp ?? "")
            return a != b ? a < b : key($0) < key($1)
        }
        func backendName(_ namespace: String, _ backend: IngressBackend, ingress: String, options: IngressAnnotations.BackendOptions = .init()) -> String? {
            guard let service = backend.service else {
                plan.problems.append(.init(ingress: ingress, reason: "UnsupportedBackend", message: "resource backends are not supported; use a service"))
                return nil
            }
            let port = service.port?.name ?? service.port.map { String($0.number ?? 0) } ?? ""
            // Backends with their own timeouts or affinity are separate HAProxy backends.
            let variant = options.isDefault ? "" : "_" + String(UInt32(truncatingIfNeeded: stableHash("\(options)")), radix: 36)
            let name = sanitized("\(namespace)_\(service.name)_\(port)") + variant
            if backends[name] == nil {
                guard let servers = endpoints(namespace, service.name, service.port) else {
                    plan.problems.append(.init(ingress: ingress, reason: "BackendNotFound",
                                               message: "service \"\(service.name)\" (port \(port)) does not exist in namespace \(namespace)"))
                    return nil
                }
                backends[name] = IngressPlan.Backend(name: name, servers: servers.sorted { ($0.ip, $0.port) < ($1.ip, $1.port) }, options: options)
            }
            return name
        }
        for ingress in ordered {
            let source = key(ingress)
            let namespace = ingress.metadata.namespace ?? "default"
            guard let spec = ingress.spec else { continue }
            let (annotations, annotationProblems) = IngressAnnotations.parse(ingress.metadata.annotations ?? [:])
            for message in annotationProblems { plan.problems.append(.init(ingress: source, reason: "InvalidAnnotation", message: message)) }
            if let fallback = spec.defaultBackend, let name = backendName(namespace, fallback, ingress: source) {
                if plan.defaultBackend == nil {
                    plan.defaultBackend = name
                } else if plan.defaultBackend != name {
                    plan.problems.append(.init(ingress: source, reason: "DefaultBackendConflict", message: "another Ingress already sets the default backend"))
                }
            }
            for rule in spec.rules ?? [] {
                let host = rule.host?.lowercased()
                for path in rule.http?.paths ?? [] {
                    let text = path.path.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
                    let exact = path.pathType == "Exact"
                    let claim = "\(host ?? "*")|\(text)|\(exact)"
                    if let holder = claimed[claim], holder != source {
                        plan.problems.append(.init(ingress: source, reason: "HostPathConflict",
                                                   message: "host \(host ?? "*") path \(text) is already routed by Ingress \(holder)"))
                        continue
                    }
                    guard let name = backendName(namespace, path.backend, ingress: source, options: annotations.backend) else { continue }
                    claimed[claim] = source
                    plan.routes.append(.init(host: host, path: text, exact: exact, backend: name, source: source, options: annotations.route))
                }
            }
            for tls in spec.tls ?? [] {
                guard let secret = tls.secretName else { continue }
                let qualified = "\(namespace)/\(secret)"
                guard secrets.contains(qualified) else {
                    plan.problems.append(.init(ingress: source, reason: "TLSSecretNotFound",
                                               message: "TLS secret \"\(secret)\" does not exist or holds no tls.crt and tls.key"))
                    continue
                }
                let hosts = (tls.hosts ?? []).map { $0.lowercased() }
                if let index = plan.certificates.firstIndex(where: { $0.secret == qualified }) {
                    plan.certificates[index].hosts = Array(Set(plan.certificates[index].hosts + hosts)).sorted()
                } else {
                    plan.certificates.append(.init(secret: qualified, hosts: hosts.sorted()))
                }
            }
        }
        plan.routes.sort(by: precedes)
        plan.backends = backends.values.sorted { $0.name < $1.name }
        return plan
    }

    /// Kubernetes' precedence: an exact host before a wildcard before any host; within a host,
    /// the longest path first, and Exact before Prefix for the same path.
    static func precedes(_ a: IngressPlan.Route, _ b: IngressPlan.Route) -> Bool {
        func rank(_ host: String?) -> Int { host == nil ? 2 : host!.hasPrefix("*.") ? 1 : 0 }
        if rank(a.host) != rank(b.host) { return rank(a.host) < rank(b.host) }
        if a.host != b.host { return (a.host ?? "") < (b.host ?? "") }
        if a.path.count != b.path.count { return a.path.count > b.path.count }
        if a.exact != b.exact { return a.exact }
        return a.path < b.path
    }

    static func key(_ ingress: Ingress) -> String { "\(ingress.metadata.namespace ?? "default")/\(ingress.metadata.name ?? "")" }

    /// FNV-1a: the same on every node and every run (Swift's `Hasher` is seeded per process).
    static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }

    /// A name HAProxy accepts for a backend: letters, digits, `_`, `-`, `.`.
    static func sanitized(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || "_-.".contains($0) ? $0 : "_" })
    }
}
