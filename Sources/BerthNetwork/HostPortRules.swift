/// One `hostPort` of a pod on this node: connections to the node's address (or `hostIP`
/// only, when the pod names one) on `hostPort` go to the pod's `containerPort`.
public struct HostPortMapping: Hashable, Sendable {
    public var hostIP: String?
    public var hostPort: Int
    public var proto: String
    public var podIP: String
    public var containerPort: Int

    public init(hostIP: String?, hostPort: Int, proto: String, podIP: String, containerPort: Int) {
        self.hostIP = hostIP == "0.0.0.0" || hostIP?.isEmpty == true ? nil : hostIP
        self.hostPort = hostPort
        self.proto = proto
        self.podIP = podIP
        self.containerPort = containerPort
    }
}

/// `hostPort`s in nftables, one table per agent replaced atomically (as the CNI `portmap`
/// plugin does with iptables, but one map lookup whatever the number of ports): packets for a
/// local address and a mapped port are DNATed to the pod before the service table sees them.
/// Connections from the node itself to 127.0.0.1 are masqueraded so the pod can answer.
public enum HostPortRules {
    public static func table(bridge: String) -> String { "berth-hostport-\(bridge)" }

    public static func render(_ mappings: [HostPortMapping], table: String) -> String {
        let sorted = mappings.sorted { ($0.hostPort, $0.proto, $0.hostIP ?? "") < ($1.hostPort, $1.proto, $1.hostIP ?? "") }
        let anyAddress = sorted.filter { $0.hostIP == nil }.map { "\($0.proto) . \($0.hostPort) : \($0.podIP) . \($0.containerPort)" }
        let oneAddress = sorted.compactMap { mapping in
            mapping.hostIP.map { "\($0) . \(mapping.proto) . \(mapping.hostPort) : \(mapping.podIP) . \(mapping.containerPort)" }
        }
        var text = "table ip \(table)\ndelete table ip \(table)\ntable ip \(table) {\n"
        text += ServiceRules.map("any-address", type: "inet_proto . inet_service : ipv4_addr . inet_service", anyAddress)
        text += ServiceRules.map("one-address", type: "ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service", oneAddress)
        // Before the service table (dstnat, -100): a host port is the node's own.
        for (hook, priority) in [("prerouting", "dstnat - 5"), ("output", "-105")] {
            text += "  chain \(hook) {\n    type nat hook \(hook) priority \(priority); policy accept;\n"
            text += "    fib daddr type local dnat to meta l4proto . th dport map @any-address\n"
            text += "    dnat to ip daddr . meta l4proto . th dport map @one-address\n  }\n"
        }
        text += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        text += "    ip saddr 127.0.0.0/8 ct status dnat masquerade comment \"the node itself through 127.0.0.1\"\n  }\n}\n"
        return text
    }
}
