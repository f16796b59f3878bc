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
                option forwardfor
                option http-keep-alive
                timeout connect 5s
                timeout client 60s
                timeout server 60s
                timeout http-request 10s
                timeout http-keep-alive 60s
                timeout tunnel 1h

            frontend berth-ingress
                bind \(bindAddress):\(httpPort)

            """
        if tls { text += "    bind \(bindAddress):\(httpsPort) ssl crt-list \(certificateList) alpn h2,http/1.1\n" }
        text += "    http-request set-var(txn.host) req.hdr(host),field(1,:),lower\n"
        for route in plan.routes {
            text += "    use_backend \(route.backend) if \(condition(route))\n"
        }
        text += "    default_backend \(plan.defaultBackend ?? "berth-no-route")\n\n"
        if plan.defaultBackend == nil {
            text += "backend berth-no-route\n    http-request return status 404 content-type text/plain string \"no ingress route\\n\"\n\n"
        }
        for backend in plan.backends {
            text += "backend \(backend.name)\n    balance roundrobin\n"
            for (index, server) in backend.servers.enumerated() { text += "    server s\(index) \(server.ip):\(server.port)\n" }
            text += "\n"
        }
        return text
    }

    /// The ACL expression for a route: host (exact, one-label wildcard, or any) and path
    /// (exact, or Kubernetes' element-wise prefix: `/a` takes `/a` and `/a/…`, not `/ab`).
    func condition(_ route: IngressPlan.Route) -> String {
        var host = ""
        if let name = route.host {
            if name.hasPrefix("*.") {
                let suffix = String(name.dropFirst(1)).replacingOccurrences(of: ".", with: "\\\\.")
                host = "{ var(txn.host) -m reg ^[^.]+\(suffix)$ } "
            } else {
                host = "{ var(txn.host) -m str \(name) } "
            }
        }
        if route.exact { return host + "{ path -m str \(route.path) }" }
        let trimmed = route.path.hasSuffix("/") ? String(route.path.dropLast()) : route.path
        if trimmed.isEmpty { return host.isEmpty ? "TRUE" : String(host.dropLast()) }
        return "\(host){ path -m str \(trimmed) } || \(host){ path -m beg \(trimmed)/ }"
    }

    /// The crt-list: one PEM (certificate, chain and key) per line with the SNI names it
    /// serves; the first line also answers clients that send no known name.
    public static func certificateList(_ certificates: [IngressPlan.Certificate], path: (String) -> String) -> String {
        certificates.map { certificate in
            ([path(certificate.secret)] + certificate.hosts.map { $0 }).joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }
}
