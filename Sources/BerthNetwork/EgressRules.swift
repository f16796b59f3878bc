/// Pod egress (`--egress-masquerade`, on by default): connections from the pod bridge to
/// anything outside the cluster's pod and service ranges leave masqueraded to the address of
/// the interface they leave by, so pods reach the outside world without the outside knowing the
/// pod ranges. Traffic between pods and to services keeps its pod source address (policies and
/// servers see the real client). With the flag off, pods still have their default route and
/// their own source address: for routed underlays whose routers know the pod ranges.
public enum EgressRules {
    public static func table(bridge: String) -> String { "berth-egress-\(bridge)" }

    public static func render(bridge: String, clusterRanges: [IPv4Network], masquerade: Bool, table: String) -> String {
        var text = "table ip \(table)\ndelete table ip \(table)\ntable ip \(table) {\n"
        text += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        if masquerade {
            let ranges = clusterRanges.map(\.description).joined(separator: ", ")
            let name = ServiceRules.quote(bridge)
            text += "    iifname \(name) oifname != \(name) ip daddr != { \(ranges) } masquerade comment \"pod egress\"\n"
        }
        text += "  }\n}\n"
        return text
    }
}
