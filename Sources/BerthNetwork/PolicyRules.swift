/// NetworkPolicy and tenant isolation in nftables, as one table replaced atomically. Every
/// forwarded packet of a new connection costs a fixed number of set lookups however many
/// policies and rules exist: isolated pods are looked up in one set, the allowed
/// (pod, peer, protocol, port) combinations in one concatenated hash set per direction (cells
/// of single values) and one interval set (cells with a range), tenants in one set each. Replies of allowed connections pass on conntrack state.
public enum PolicyRules {
    /// The table of the agent whose pods hang off `bridge`.
    public static func table(bridge: String) -> String { "berth-pol-\(bridge)" }

    /// Where the table filters: on the node's bridge (`forward`, every pod's traffic), or in a
    /// pod's own network namespace in underlay mode (`input` and `output`: what reaches and what
    /// leaves that pod; the sets are the node's, so one text serves every pod of the node).
    public enum Placement: Sendable, Equatable {
        case bridge
        /// `node`: the node's own address, whose traffic (probes, the node's proxies) is not
        /// subject to policy, as the node's own traffic never crosses the bridge's `forward`.
        case podNamespace(node: String)
    }

    public static func render(_ compilation: PolicyCompilation, table: String, placement: Placement = .bridge) -> String {
        func address(_ value: UInt32) -> String { IPv4Network.format(value) }
        func range(_ span: Span, _ format: (UInt32) -> String) -> String {
            span.low == span.high ? format(span.low) : "\(format(span.low))-\(format(span.high))"
        }
        func elements(_ list: [String]) -> String {
            list.isEmpty ? "" : "    elements = { \(list.joined(separator: ",\n      ")) }\n"
        }
        // Cells that are single values in every field (a pod, a peer address, a protocol, a
        // port: the common case) go into a hash set, looked up in constant time; only cells
        // with a range (a CIDR, a port range, any port) need the interval set, whose lookup
        // cost grows with its size.
        func allowed(_ name: String, _ boxes: [PolicyBox]) -> String {
            let cells = PolicyCompiler.disjoint(boxes)
            let exact = cells.filter { $0.peer.low == $0.peer.high && $0.proto.low == $0.proto.high && $0.port.low == $0.port.high }
            let ranged = cells.filter { !($0.peer.low == $0.peer.high && $0.proto.low == $0.proto.high && $0.port.low == $0.port.high) }
            let type = "    type ipv4_addr . ipv4_addr . inet_proto . inet_service\n"
            let exactList = exact.map { "\(address($0.pod)) . \(address($0.peer.low)) . \($0.proto.low) . \($0.port.low)" }
            let rangedList = ranged.map {
                "\(address($0.pod)) . \(range($0.peer, address)) . \(range($0.proto, String.init)) . \(range($0.port, String.init))"
            }
            return "  set \(name)-exact {\n" + type + elements(exactList) + "  }\n"
                + "  set \(name) {\n" + type + "    flags interval\n" + elements(rangedList) + "  }\n"
        }
        var text = "table ip \(table)\ndelete table ip \(table)\ntable ip \(table) {\n"
        text += "  set ingress-isolated {\n    type ipv4_addr\n" + elements(compilation.ingressIsolated.keys.sorted().map(address)) + "  }\n"
        text += "  set egress-isolated {\n    type ipv4_addr\n" + elements(compilation.egressIsolated.keys.sorted().map(address)) + "  }\n"
        text += allowed("ingress-allowed", compilation.ingress)
        text += allowed("egress-allowed", compilation.egress)
        let tenants = compilation.tenants.keys.sorted()
        for (index, tenant) in tenants.enumerated() {
            text += "  set tenant-\(index) {\n    type ipv4_addr\n    comment \(quote("tenant " + tenant))\n"
            text += elements(Array(Set(compilation.tenants[tenant] ?? [])).sorted().map(address)) + "  }\n"
        }
        func tenantRule(_ index: Int, _ tenant: String, outgoing: Bool) -> String {
            let (own, other) = outgoing ? ("saddr", "daddr") : ("daddr", "saddr")
            return "    ip \(own) @tenant-\(index) ip \(other) != @tenant-\(index) counter drop comment \(quote("tenant " + tenant + " isolation"))\n"
        }
        switch placement {
        case .bridge:
            text += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
            text += "    ct state established,related accept\n"
            for (index, tenant) in tenants.enumerated() {
                text += tenantRule(index, tenant, outgoing: true) + tenantRule(index, tenant, outgoing: false)
            }
            text += "    ip saddr @egress-isolated jump egress\n"
            text += "    ip daddr @ingress-isolated jump ingress\n  }\n"
        case .podNamespace(let node):
            text += "  chain input {\n    type filter hook input priority filter; policy accept;\n    ct state established,related accept\n"
            text += "    ip saddr \(node) accept comment \"the node: probes and its proxies\"\n"
            for (index, tenant) in tenants.enumerated() { text += tenantRule(index, tenant, outgoing: false) }
            text += "    ip daddr @ingress-isolated jump ingress\n  }\n"
            text += "  chain output {\n    type filter hook output priority filter; policy accept;\n    ct state established,related accept\n"
            for (index, tenant) in tenants.enumerated() { text += tenantRule(index, tenant, outgoing: true) }
            text += "    ip saddr @egress-isolated jump egress\n  }\n"
        }
        text += "  chain egress {\n    ip saddr . ip daddr . meta l4proto . th dport @egress-allowed-exact return\n"
        text += "    ip saddr . ip daddr . meta l4proto . th dport @egress-allowed return\n    counter drop comment \"egress not allowed by any policy\"\n  }\n"
        text += "  chain ingress {\n    ip daddr . ip saddr . meta l4proto . th dport @ingress-allowed-exact accept\n"
        text += "    ip daddr . ip saddr . meta l4proto . th dport @ingress-allowed accept\n    counter drop comment \"ingress not allowed by any policy\"\n  }\n"
        text += "}\n"
        return text
    }

    static func quote(_ text: String) -> String {
        "\"" + text.filter { $0 != "\"" && $0 != "\n" && $0 != "\\" }.prefix(120) + "\""
    }
}
