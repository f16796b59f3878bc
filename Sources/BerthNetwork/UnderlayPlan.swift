import BerthCore

/// Underlay mode's plumbing as text for `ip` and `nft`: the host's macvlan shim, a pod's CNI
/// `macvlan` configuration, and the guard in the pod's namespace that lets out only the pod's
/// own MAC and address. Pure.
public enum UnderlayPlan {
    /// The host's macvlan on the uplink (bridge mode, like the pods'): it carries the node
    /// address as a /32 and the route to this node's pods.
    public static let shimDevice = "berth.mv"
    /// The guard's table in each pod namespace.
    public static let guardTable = "berth-guard"

    public static func shim(uplink: String, nodeAddress: UInt32, podRange: IPv4Network) -> [String] {
        [
            "link add \(shimDevice) link \(uplink) type macvlan mode bridge",
            "link set \(shimDevice) up",
            "addr replace \(IPv4Network.format(nodeAddress))/32 dev \(shimDevice)",
            "route replace \(podRange) dev \(shimDevice) proto \(CrossHostPlan.routeProtocol) scope link src \(IPv4Network.format(nodeAddress))",
        ]
    }

    /// The CNI `macvlan` plugin's configuration: `eth0` on the uplink in bridge mode with the
    /// pod's address in the physical network, its gateway (when the uplink has one) as the
    /// default route. Without an address (DEL) only what the plugin needs to remove it.
    public static func cniConfig(uplink: String, mtu: Int, address: UInt32?, network: IPv4Network?, gateway: UInt32?) -> JSONValue {
        var ipam: JSONValue = ["type": "static"]
        if let address, let network {
            var entry: JSONValue = ["address": .string("\(IPv4Network.format(address))/\(network.prefixLength)")]
            if let gateway { entry.set(.string(IPv4Network.format(gateway)), at: ["gateway"]) }
            ipam.set([entry], at: ["addresses"])
            if gateway != nil { ipam.set([["dst": "0.0.0.0/0"]], at: ["routes"]) }
        }
        return [
            "cniVersion": "1.0.0", "name": "berth", "type": "macvlan", "master": .string(uplink), "mode": "bridge",
            "mtu": .number(String(mtu)), "ipam": ipam,
        ]
    }

    /// The pod's egress guard: a `netdev` table on `eth0`'s egress hook, which every frame the
    /// pod sends passes (raw and packet sockets included), out of reach of the pod's processes
    /// (they have no `CAP_NET_ADMIN`). Only the pod's MAC, with its IPv4 address as source or
    /// ARP sender, leaves; everything else (a forged address, IPv6) is dropped.
    public static func guardTable(interface: String, mac: String, address: String) -> String {
        """
        table netdev \(guardTable)
        delete table netdev \(guardTable)
        table netdev \(guardTable) {
          chain egress {
            type filter hook egress device "\(interface)" priority 0; policy drop;
            ether saddr != \(mac) counter drop comment "forged MAC"
            ether type ip ip saddr \(address) accept
            ether type arp arp saddr ip \(address) accept
            counter drop comment "forged source address, or not IPv4"
          }
        }

        """
    }
}
