/// A pod's side of the bridge: the host end of its veth, and the MAC and address behind it.
public struct PodPort: Hashable, Sendable {
    public var interface: String
    public var mac: String
    public var ip: String

    public init(interface: String, mac: String, ip: String) {
        self.interface = interface
        self.mac = mac
        self.ip = ip
    }
}

/// Anti-spoofing on the pod bridge, in a `bridge` family table so it sees every frame a pod
/// sends, bridged or routed: a frame from a pod's port whose source MAC, IPv4 source or ARP
/// sender address is not that pod's is dropped; pods have no IPv6, so none leaves a pod.
public enum SpoofRules {
    public static func table(bridge: String) -> String { "berth-spoof-\(bridge)" }

    public static func render(_ ports: [PodPort], table: String) -> String {
        let sorted = ports.sorted { $0.interface < $1.interface }
        func elements(_ list: [String]) -> String {
            list.isEmpty ? "" : "    elements = { \(list.joined(separator: ",\n      ")) }\n"
        }
        var text = "table bridge \(table)\ndelete table bridge \(table)\ntable bridge \(table) {\n"
        text += "  set ports {\n    type ifname\n" + elements(sorted.map { "\"\($0.interface)\"" }) + "  }\n"
        text += "  set macs {\n    type ifname . ether_addr\n" + elements(sorted.map { "\"\($0.interface)\" . \($0.mac)" }) + "  }\n"
        text += "  set addresses {\n    type ifname . ether_addr . ipv4_addr\n" + elements(sorted.map { "\"\($0.interface)\" . \($0.mac) . \($0.ip)" }) + "  }\n"
        text += """
              chain prerouting {
                type filter hook prerouting priority -300; policy accept;
                ether type ip iifname . ether saddr . ip saddr @addresses accept comment "the pod's own IPv4 packets: one lookup"
                iifname != @ports accept
                iifname . ether saddr != @macs counter drop comment "forged MAC"
                ether type ip iifname . ether saddr . ip saddr != @addresses counter drop comment "forged IPv4 source"
                ether type arp iifname . ether saddr . arp saddr ip != @addresses counter drop comment "forged ARP sender"
                ether type ip6 counter drop comment "pods have no IPv6"
              }
            }

            """
        return text
    }
}
