/// One service port as the data plane sees it: where clients send (cluster IP and port, node
/// port) and the ready endpoints behind it.
public struct ServiceEntry: Hashable, Sendable {
    public var name: String           // "namespace/service:port" for comments and trace
    public var clusterIP: String?
    public var proto: String          // tcp, udp or sctp
    public var port: Int
    public var nodePort: Int?
    public var endpoints: [Endpoint]
    /// `sessionAffinity: ClientIP`: a client keeps its endpoint for this many seconds.
    public var affinitySeconds: Int?
    /// `spec.externalIPs`: addresses routed to the nodes by the network's admin, answered on
    /// the service port like the cluster IP.
    public var externalIPs: [String]
    /// `status.loadBalancer.ingress` addresses, answered like external IPs on the node that
    /// announces them, from `sourceRanges` only when those are given.
    public var loadBalancerIPs: [String]
    /// `spec.loadBalancerSourceRanges` (CIDRs); empty: every client.
    public var sourceRanges: [String]
    /// `externalTrafficPolicy: Local`: this node's ready endpoints, the only ones traffic from
    /// outside (node port, external IPs, load-balancer addresses) goes to, unmasqueraded so the
    /// pod sees the client's address; none: such traffic is dropped. nil: policy Cluster.
    public var localEndpoints: [Endpoint]?

    public struct Endpoint: Hashable, Sendable {
        public var ip: String
        public var port: Int
        public init(ip: String, port: Int) {
            self.ip = ip
            self.port = port
        }
    }

    public init(name: String, clusterIP: String?, proto: String, port: Int, nodePort: Int?, endpoints: [Endpoint], affinitySeconds: Int? = nil,
                externalIPs: [String] = [], loadBalancerIPs: [String] = [], sourceRanges: [String] = [], localEndpoints: [Endpoint]? = nil) {
        self.localEndpoints = localEndpoints
        self.externalIPs = externalIPs
        self.loadBalancerIPs = loadBalancerIPs
        self.sourceRanges = sourceRanges
        self.name = name
        self.clusterIP = clusterIP
        self.proto = proto
        self.port = port
        self.nodePort = nodePort
        self.endpoints = endpoints
        self.affinitySeconds = affinitySeconds
    }
}

/// Services in nftables, as one table replaced atomically: a verdict map from (address,
/// protocol, port) to the service's chain — one lookup whatever the number of services — then a
/// random pick among its endpoints and a DNAT. External IPs share the first map; node ports go
/// through a second map for packets addressed to the host. Traffic that would come back the
/// wrong way is masqueraded: node-port and external-IP traffic (the endpoint may be on another
/// host) and a pod reaching itself through its service.
/// Services without endpoints are rejected at once instead of timing out.
public enum ServiceRules {
    static let masqueradeMark = "0x4000"

    /// The table of the agent whose pods hang off `bridge` (one per agent, so agents sharing a
    /// host's network namespace in tests do not overwrite each other).
    public static func table(bridge: String) -> String { "berth-svc-\(bridge)" }

    public static func render(_ entries: [ServiceEntry], table: String) -> String {
        var serviceElements: [String] = []
        var nodePortElements: [String] = []
        var rejectElements: [String] = []
        var chains: [String] = []
        for (index, entry) in entries.enumerated() {
            let chain = "svc-\(index)"
            if entry.endpoints.isEmpty {
                for ip in [entry.clusterIP].compactMap({ $0 }) + entry.externalIPs + entry.loadBalancerIPs { rejectElements.append("\(ip) . \(entry.proto) . \(entry.port)") }
                continue
            }
            if let ip = entry.clusterIP { serviceElements.append("\(ip) . \(entry.proto) . \(entry.port) : goto \(chain)") }
            var serviceChain = "  chain \(chain) {\n    comment \(quote(entry.name))\n"
            if let local = entry.localEndpoints {
                // From outside, policy Local: this node's endpoints only, the client's address kept.
                chains.append(localChain(index: index, proto: entry.proto, endpoints: local))
            } else if entry.nodePort != nil || !entry.externalIPs.isEmpty || !entry.loadBalancerIPs.isEmpty {
                // From outside the cluster: masqueraded, the endpoint may be on another host.
                chains.append("  chain np-\(index) {\n    meta mark set meta mark | \(masqueradeMark)\n    goto \(chain)\n  }\n")
            }
            if let nodePort = entry.nodePort { nodePortElements.append("\(entry.proto) . \(nodePort) : goto np-\(index)") }
            for ip in entry.externalIPs { serviceElements.append("\(ip) . \(entry.proto) . \(entry.port) : goto np-\(index)") }
            if !entry.loadBalancerIPs.isEmpty {
                var target = "np-\(index)"
                if !entry.sourceRanges.isEmpty {
                    // Clients outside the ranges are dropped before any translation.
                    target = "lb-\(index)"
                    chains.append("  chain lb-\(index) {\n    ip saddr != { \(entry.sourceRanges.joined(separator: ", ")) } drop\n    goto np-\(index)\n  }\n")
                }
                for ip in entry.loadBalancerIPs { serviceElements.append("\(ip) . \(entry.proto) . \(entry.port) : goto \(target)") }
            }
            var endpointChains: [String] = []
            for (number, endpoint) in entry.endpoints.enumerated() {
                let endpointChain = "ep-\(index)-\(number)"
                var body = "  chain \(endpointChain) {\n"
                body += "    ip saddr \(endpoint.ip) meta mark set meta mark | \(masqueradeMark)\n"
                if let seconds = entry.affinitySeconds {
                    body += "    update @aff-\(index)-\(number) { ip saddr }\n"
                    chains.append("  set aff-\(index)-\(number) {\n    type ipv4_addr\n    flags dynamic,timeout\n    timeout \(seconds)s\n  }\n")
                    serviceChain += "    ip saddr @aff-\(index)-\(number) goto \(endpointChain)\n"
                }
                body += "    meta l4proto \(entry.proto) dnat to \(endpoint.ip):\(endpoint.port)\n  }\n"
                endpointChains.append(body)
            }
            if entry.endpoints.count == 1 {
                serviceChain += "    goto ep-\(index)-0\n"
            } else {
                let picks = entry.endpoints.indices.map { "\($0) : goto ep-\(index)-\($0)" }.joined(separator: ", ")
                serviceChain += "    numgen random mod \(entry.endpoints.count) vmap { \(picks) }\n"
            }
            serviceChain += "  }\n"
            chains.append(serviceChain)
            chains += endpointChains
        }
        var text = "table ip \(table)\ndelete table ip \(table)\ntable ip \(table) {\n"
        text += map("services", type: "ipv4_addr . inet_proto . inet_service : verdict", serviceElements)
        text += map("node-ports", type: "inet_proto . inet_service : verdict", nodePortElements)
        text += "  set no-endpoints {\n    type ipv4_addr . inet_proto . inet_service\n"
        if !rejectElements.isEmpty { text += "    elements = { \(rejectElements.joined(separator: ", ")) }\n" }
        text += "  }\n"
        text += chains.joined()
        // dstnat names -100 only on prerouting; output takes the number.
        for hook in ["prerouting", "output"] {
            text += "  chain \(hook) {\n    type nat hook \(hook) priority -100; policy accept;\n"
            text += "    ip daddr . meta l4proto . th dport vmap @services\n"
            text += "    fib daddr type local meta l4proto . th dport vmap @node-ports\n  }\n"
        }
        // An endpoint on a loopback address (the API server of `berth up` listens on 127.0.0.1)
        // needs `route_localnet` on the pod bridge (the agent sets it); then only connections DNATed to it may
        // reach 127.0.0.0/8 from outside the host (as kube-proxy guards it, CVE-2020-8558).
        text += "  chain localnet-guard {\n    type filter hook prerouting priority dstnat + 10; policy accept;\n"
        text += "    iifname != \"lo\" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop\n  }\n"
        text += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        text += "    meta mark & \(masqueradeMark) == \(masqueradeMark) meta mark set meta mark & 0xffffbfff masquerade\n  }\n"
        // Refused where the packet enters (after DNAT, which sends a service with endpoints
        // elsewhere): in `forward` the packet would first be routed back out the pod bridge it
        // came from (the node's route for the service range), drawing an ICMP redirect that
        // spends the rate limit the refusal's own ICMP needs.
        for (hook, priority) in [("prerouting", "dstnat + 10"), ("output", "filter - 10")] {
            text += "  chain reject-\(hook) {\n    type filter hook \(hook) priority \(priority); policy accept;\n"
            // Only a connection's first packet can be for a service without endpoints.
            text += "    ct state new ip daddr . meta l4proto . th dport @no-endpoints reject\n  }\n"
        }
        text += "}\n"
        return text
    }

    /// The `np-N` chain of a Local service: a random pick among this node's endpoints, DNAT
    /// without the masquerade mark; a drop when the node has none.
    static func localChain(index: Int, proto: String, endpoints: [ServiceEntry.Endpoint]) -> String {
        guard !endpoints.isEmpty else { return "  chain np-\(index) {\n    drop\n  }\n" }
        var text = "  chain np-\(index) {\n"
        if endpoints.count == 1 {
            text += "    meta l4proto \(proto) dnat to \(endpoints[0].ip):\(endpoints[0].port)\n  }\n"
            return text
        }
        let picks = endpoints.indices.map { "\($0) : goto lep-\(index)-\($0)" }.joined(separator: ", ")
        text += "    numgen random mod \(endpoints.count) vmap { \(picks) }\n  }\n"
        for (number, endpoint) in endpoints.enumerated() {
            text += "  chain lep-\(index)-\(number) {\n    meta l4proto \(proto) dnat to \(endpoint.ip):\(endpoint.port)\n  }\n"
        }
        return text
    }

    static func map(_ name: String, type: String, _ elements: [String]) -> String {
        var text = "  map \(name) {\n    type \(type)\n"
        if !elements.isEmpty { text += "    elements = { \(elements.joined(separator: ",\n      ")) }\n" }
        return text + "  }\n"
    }

    static func quote(_ text: String) -> String {
        "\"" + text.filter { $0 != "\"" && $0 != "\n" && $0 != "\\" }.prefix(128) + "\""
    }

    /// Removes the table (agent clean-up).
    public static func removal(table: String) -> String { "table ip \(table)\ndelete table ip \(table)\n" }
}
