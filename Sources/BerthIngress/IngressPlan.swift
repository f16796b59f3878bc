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
    /// Ports Gateway listeners add beside the ingress ports, and whether each terminates TLS.
    public var listeners: [Int: Bool] = [:]

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
        /// What a Gateway route matches beyond host and path.
        public var match = RouteMatch()
        /// The listener ports the route answers on; nil: the ingress ports.
        public var ports: [Int]? = nil
        /// A Gateway route's header changes, rewrite and redirect.
        public var filters = RouteFilters()
        /// The last tie-breaker of precedence: the order the planner produced routes in.
        public var order = 0

        public init(host: String?, path: String, exact: Bool, backend: String, source: String,
                    options: IngressAnnotations.RouteOptions = .init(), ports: [Int]? = nil, order: Int = 0) {
            self.host = host
            self.path = path
            self.exact = exact
            self.backend = backend
            self.source = source
            self.options = options
            self.ports = ports
            self.order = order
        }
    }

    /// A Gateway route's matches beyond host and path (all must hold).
    public struct RouteMatch: Equatable, Hashable, Sendable {
        /// The path is a regular expression (the route's `path` holds it).
        public var pathRegex = false
        public var headers: [ValueMatch] = []
        public var queryParams: [ValueMatch] = []
        public var method: String?
        /// `*.example.test` takes any depth below the domain (Gateway API), not one label (Ingress).
        public var wildcardAnyDepth = false
        public init() {}
    }

    public struct ValueMatch: Equatable, Hashable, Sendable {
        public var name: String
        public var value: String
        public var regex: Bool
        public init(name: String, value: String, regex: Bool) {
            self.name = name
            self.value = value
            self.regex = regex
        }
    }

    public struct RouteFilters: Equatable, Hashable, Sendable {
        public var setRequest: [Header] = []
        public var addRequest: [Header] = []
        public var removeRequest: [String] = []
        public var setResponse: [Header] = []
        public var addResponse: [Header] = []
        public var removeResponse: [String] = []
        /// A rewrite of the host the backend sees.
        public var rewriteHost: String?
        public var rewritePath: PathChange?
        public var redirect: Redirect?
        public init() {}
    }

    public struct Header: Equatable, Hashable, Sendable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public enum PathChange: Equatable, Hashable, Sendable {
        case full(String)
        /// The matched prefix replaced (the route's path is the prefix).
        case prefix(String)
    }

    public struct Redirect: Equatable, Hashable, Sendable {
        public var scheme: String?
        public var hostname: String?
        public var port: Int?
        public var path: PathChange?
        public var statusCode = 302
        public init() {}
    }

    public struct Backend: Equatable, Sendable {
        public var name: String
        public var servers: [Server]
        public var options = IngressAnnotations.BackendOptions()

        public init(name: String, servers: [Server], options: IngressAnnotations.BackendOptions = .init()) {
            self.name = name
            self.servers = servers
            self.options = options
        }
    }

    public struct Server: Equatable, Hashable, Sendable {
        public var ip: String
        public var port: Int
        /// HAProxy's server weight (1…256), for weighted backends; nil: equal shares.
        public var weight: Int?
        public init(ip: String, port: Int, weight: Int? = nil) {
            self.ip = ip
            self.port = port
            self.weight = weight
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
                    plan.routes.append(.init(host: host, path: text, exact: exact, backend: name, source: source, options: annotations.route, order: plan.routes.count))
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

    /// Kubernetes' precedence (Gateway API's is the same where both speak): an exact host
    /// before a wildcard before any host; within a host, the longest path first (a regular
    /// expression after a prefix of its length), Exact before Prefix for the same path; then a
    /// method match, more header matches, more query matches; then the planner's order.
    public static func precedes(_ a: IngressPlan.Route, _ b: IngressPlan.Route) -> Bool {
        func rank(_ host: String?) -> Int { host == nil ? 2 : host!.hasPrefix("*.") ? 1 : 0 }
        if rank(a.host) != rank(b.host) { return rank(a.host) < rank(b.host) }
        if a.host != b.host {
            // A longer wildcard domain is the more specific one.
            if a.host?.count != b.host?.count { return (a.host?.count ?? 0) > (b.host?.count ?? 0) }
            return (a.host ?? "") < (b.host ?? "")
        }
        if a.path.count != b.path.count { return a.path.count > b.path.count }
        if a.exact != b.exact { return a.exact }
        if a.match.pathRegex != b.match.pathRegex { return !a.match.pathRegex }
        if (a.match.method != nil) != (b.match.method != nil) { return a.match.method != nil }
        if a.match.headers.count != b.match.headers.count { return a.match.headers.count > b.match.headers.count }
        if a.match.queryParams.count != b.match.queryParams.count { return a.match.queryParams.count > b.match.queryParams.count }
        if a.order != b.order { return a.order < b.order }
        return a.path < b.path
    }

    static func key(_ ingress: Ingress) -> String { "\(ingress.metadata.namespace ?? "default")/\(ingress.metadata.name ?? "")" }

    /// FNV-1a: the same on every node and every run (Swift's `Hasher` is seeded per process).
    public static func stableHash(_ text: String) -> UInt64 {
        text.utf8.reduce(14_695_981_039_346_656_037) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }
    }

    /// A name HAProxy accepts for a backend: letters, digits, `_`, `-`, `.`.
    public static func sanitized(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || "_-.".contains($0) ? $0 : "_" })
    }
}
