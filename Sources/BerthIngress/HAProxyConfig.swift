/// Renders an `IngressPlan` as an HAProxy 2.6 configuration: one HTTP frontend (and an HTTPS
/// one on the same routes when certificates exist, picked by SNI from a crt-list, with HTTP/2
/// by ALPN), `use_backend` rules in the plan's precedence order, a backend per Service port
/// with its endpoints as servers, and a 404 answer for requests no route takes. The master's
/// admin socket passes listening sockets to the next worker (`expose-fd listeners`), so a
/// reload drops no connection.
public struct HAProxyConfig: Sendable {
    public var bindAddress = "0.0.0.0"
    public var httpPort = 80
    public var httpsPort = 443
    /// The runtime API socket (admin level).
    public var adminSocket: String
    /// The crt-list file the HTTPS listener reads (written beside the configuration).
    public var certificateList: String
    public var maxConnections = 4000

    public init(adminSocket: String, certificateList: String) {
        self.adminSocket = adminSocket
        self.certificateList = certificateList
    }

    public func render(_ plan: IngressPlan, tls: Bool) -> String {
        var text = """
            # Written by the Berth agent from the cluster's Ingresses; replaced on every change.
            global
                maxconn \(maxConnections)
                stats socket \(adminSocket) mode 600 level admin expose-fd listeners
                hard-stop-after 10m

            defaults
                mode http
                # Access log on stdout (the agent's DATA/ingress/access.log), one line per request
                # in the container log format (time, stream, F, message), so `berth logs --ingress`
                # reads it as it reads a container's.
                log stdout format iso local0 info
                log-format "stdout F %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}[var(txn.host)] %{+Q}r"
                option forwardfor
                option http-keep-alive
                timeout connect 5s
                timeout client 60s
                timeout server 60s
                timeout http-request 10s
                timeout http-keep-alive 60s
                timeout tunnel 1h

            frontend berth-ingress

            """
        var binds: [Int: Bool] = [httpPort: false]
        if tls { binds[httpsPort] = true }
        for (port, secure) in plan.listeners where secure == false || tls { binds[port] = secure }
        for (port, secure) in binds.sorted(by: { $0.key < $1.key }) {
            text += secure ? "    bind \(bindAddress):\(port) ssl crt-list \(certificateList) alpn h2,http/1.1\n" : "    bind \(bindAddress):\(port)\n"
        }
        let ingressPorts = Set([httpPort] + (tls ? [httpsPort] : []))
        text += "    http-request set-var(txn.host) req.hdr(host),field(1,:),lower\n"
        text += "    http-request set-var(txn.path) path\n"
        // One route per request, the first in precedence that matches; everything after keys
        // on its number, so a more general route's settings never touch another's requests.
        for (index, route) in plan.routes.enumerated() {
            let unset = "!{ var(txn.route) -m found }"
            let ports = Set(route.ports ?? Array(ingressPorts))
            let onPorts = Set(binds.keys).isSubset(of: ports) ? "" : " { dst_port \(ports.sorted().map(String.init).joined(separator: " ")) }"
            text += "    http-request set-var(txn.route) int(\(index)) if \(alternatives(route).map { "\(unset)\(onPorts) \($0)" }.joined(separator: " || "))\n"
        }
        var rateTables: [String] = []
        for (index, route) in plan.routes.enumerated() {
            let chosen = "{ var(txn.route) -m int \(index) }"
            let options = route.options
            if !options.sourceRanges.isEmpty {
                text += "    http-request deny deny_status 403 if \(chosen) !{ src \(options.sourceRanges.joined(separator: " ")) }\n"
            }
            if options.sslRedirect { text += "    http-request redirect scheme https code 308 if \(chosen) !{ ssl_fc }\n" }
            if let limit = options.bodySizeLimit {
                text += "    http-request deny deny_status 413 if \(chosen) { req.hdr_val(content-length) gt \(limit) }\n"
            }
            if let rate = options.requestsPerSecond {
                let table = "berth-rate-\(index)"
                rateTables.append(table)
                text += "    http-request track-sc0 src table \(table) if \(chosen)\n"
                text += "    http-request deny deny_status 429 if \(chosen) { sc_http_req_rate(0,\(table)) gt \(rate) }\n"
            }
            if let target = options.rewriteTarget, !route.exact {
                let prefix = route.path.hasSuffix("/") ? String(route.path.dropLast()) : route.path
                let base = target.hasSuffix("/") ? String(target.dropLast()) : target
                text += "    http-request replace-path ^\(Self.regexEscaped(prefix))(/.*)?$ \(base)\\1 if \(chosen)\n"
                if base.isEmpty { text += "    http-request set-path / if \(chosen) { path -m len 0 }\n" }
            } else if let target = options.rewriteTarget {
                text += "    http-request set-path \(target) if \(chosen)\n"
            }
        }
        for (index, route) in plan.routes.enumerated() where !route.filters.isEmpty {
            text += filterRules(route.filters, path: route.path, chosen: "{ var(txn.route) -m int \(index) }")
        }
        for (index, route) in plan.routes.enumerated() where route.filters.redirect == nil {
            text += "    use_backend \(route.backend) if { var(txn.route) -m int \(index) }\n"
        }
        text += "    default_backend \(plan.defaultBackend ?? "berth-no-route")\n\n"
        if plan.defaultBackend == nil {
            text += "backend berth-no-route\n    http-request return status 404 content-type text/plain string \"no ingress route\\n\"\n\n"
        }
        if plan.routes.contains(where: { $0.backend == GatewayPlanner.invalidBackend }) {
            text += "backend \(GatewayPlanner.invalidBackend)\n    http-request return status 500 content-type text/plain string \"the route's backends are not valid\\n\"\n\n"
        }
        for table in rateTables {
            text += "backend \(table)\n    stick-table type ip size 100k expire 30s store http_req_rate(1s)\n\n"
        }
        for backend in plan.backends {
            text += "backend \(backend.name)\n    balance roundrobin\n"
            if let timeout = backend.options.connectTimeout { text += "    timeout connect \(timeout)\n" }
            if let timeout = backend.options.readTimeout { text += "    timeout server \(timeout)\n" }
            if let cookie = backend.options.cookie { text += "    cookie \(cookie) insert indirect nocache httponly\n" }
            for index in 0..<Self.slots(backend.servers.count) {
                let cookie = backend.options.cookie == nil ? "" : " cookie s\(index)"
                guard index < backend.servers.count else {
                    // A spare slot: the runtime API fills it when an endpoint comes (no reload).
                    text += "    server s\(index) \(Self.spareAddress) disabled\(cookie)\n"
                    continue
                }
                let server = backend.servers[index]
                let weight = server.weight.map { " weight \($0)" } ?? ""
                text += "    server s\(index) \(server.ip):\(server.port)\(weight)\(cookie)\n"
            }
            text += "\n"
        }
        return text
    }

    /// The ACL alternatives (ORed; each ANDs its terms) for a route: host (exact, one-label
    /// wildcard, or any) and path (exact, or Kubernetes' element-wise prefix: `/a` takes `/a`
    /// and `/a/…`, not `/ab`), on the request as it arrived.
    func alternatives(_ route: IngressPlan.Route) -> [String] {
        var host = ""
        if let name = route.host {
            if name.hasPrefix("*.") {
                let suffix = String(name.dropFirst(1)).replacingOccurrences(of: ".", with: "\\\\.")
                host = "{ var(txn.host) -m reg ^\(route.match.wildcardAnyDepth ? ".+" : "[^.]+")\(suffix)$ }"
            } else {
                host = "{ var(txn.host) -m str \(name) }"
            }
        }
        var terms = route.match.method.map { ["{ method \($0) }"] } ?? []
        for header in route.match.headers {
            terms.append("{ \(Self.quoted("req.hdr(\(header.name))")) -m \(header.regex ? "reg" : "str") -- \(Self.quoted(header.value)) }")
        }
        for parameter in route.match.queryParams {
            terms.append("{ \(Self.quoted("url_param(\(parameter.name))")) -m \(parameter.regex ? "reg" : "str") -- \(Self.quoted(parameter.value)) }")
        }
        let extra = terms.joined(separator: " ")
        func and(_ terms: String...) -> String { terms.filter { !$0.isEmpty }.joined(separator: " ") }
        if route.match.pathRegex { return [and(host, "{ var(txn.path) -m reg -- \(Self.quoted(route.path)) }", extra)] }
        if route.exact { return [and(host, "{ var(txn.path) -m str \(Self.quoted(route.path)) }", extra)] }
        let trimmed = route.path.hasSuffix("/") ? String(route.path.dropLast()) : route.path
        if trimmed.isEmpty { return [and(host, extra).isEmpty ? "TRUE" : and(host, extra)] }
        return [and(host, "{ var(txn.path) -m str \(Self.quoted(trimmed)) }", extra), and(host, "{ var(txn.path) -m beg \(Self.quoted(trimmed + "/")) }", extra)]
    }

    /// Server lines per backend: the endpoints and room to grow (at least 4, then the next
    /// power of two), so most endpoint changes go through the runtime API.
    public static func slots(_ count: Int) -> Int {
        var slots = 4
        while slots < count { slots *= 2 }
        return slots
    }

    /// Where a spare slot points until the runtime API gives it an endpoint (never used: the
    /// slot is in maintenance).
    static let spareAddress = "127.0.0.1:1"

    static func regexEscaped(_ text: String) -> String {
        String(text.flatMap { ".^$*+?()[]{}|\\".contains($0) ? ["\\", $0] : [$0] })
    }

    /// The crt-list: one PEM (certificate, chain and key) per line with the SNI names it
    /// serves; the first line also answers clients that send no known name.
    public static func certificateList(_ certificates: [IngressPlan.Certificate], path: (String) -> String) -> String {
        certificates.map { certificate in
            ([path(certificate.secret)] + certificate.hosts.map { $0 }).joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }
}
