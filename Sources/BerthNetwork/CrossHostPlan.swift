/// How pod traffic crosses hosts (DESIGN §6).
public enum NetworkMode: String, Sendable, CaseIterable {
    /// A host route per peer node: `POD_SUBNET via NODE_ADDRESS`. Needs the hosts on one L2
    /// network (or routers that know the routes); no encapsulation, full MTU.
    case routed
    /// A VXLAN device per host; each peer gets a route via its tunnel endpoint, a permanent
    /// neighbour entry and a forwarding entry to its node address. Works over any IP network;
    /// 50 bytes of each packet go to the outer headers.
    case vxlan
    /// Pods on the host's uplink through macvlan (bridge mode) with addresses of the physical
    /// network: machines on that network reach them without NAT or tunnels, so there are no
    /// cross-host entries at all (`UnderlayPlan`).
    case underlay
}

/// Another node as the network sees it: where it is and which pod subnet it serves.
public struct PeerNode: Hashable, Sendable {
    public var name: String
    public var address: UInt32
    public var podSubnet: IPv4Network

    public init(name: String, address: UInt32, podSubnet: IPv4Network) {
        self.name = name
        self.address = address
        self.podSubnet = podSubnet
    }
}

/// The kernel state one peer needs, as `ip -batch` lines: pure, so it is tested without a kernel.
public enum CrossHostPlan {
    /// Routes Berth installs carry this protocol number, so they can be found and removed
    /// without touching anyone else's routes.
    public static let routeProtocol = 77
    public static let vxlanDevice = "berth.vx"
    public static let vxlanID = 7700
    public static let vxlanPort = 4789
    /// Bytes VXLAN over IPv4 adds: outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14.
    public static let vxlanOverhead = 50

    /// A node's tunnel endpoint MAC, derived from its pod subnet so that peers know it from the
    /// Node object alone (locally administered, unicast: `0e:be:` + the subnet's four bytes).
    public static func vtepMAC(_ subnet: IPv4Network) -> String {
        let bytes = [0x0e, 0xbe, Int(subnet.base >> 24), Int((subnet.base >> 16) & 0xFF), Int((subnet.base >> 8) & 0xFF), Int(subnet.base & 0xFF)]
        return bytes.map { hex($0) }.joined(separator: ":")
    }

    /// A node's tunnel endpoint address: the network address of its pod subnet (never given to
    /// a pod), as a /32 on its VXLAN device.
    public static func vtepAddress(_ subnet: IPv4Network) -> UInt32 { subnet.base }

    static func hex(_ value: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[(value >> 4) & 0xF], digits[value & 0xF]])
    }

    /// `ip -batch` lines that add (or refresh) one peer's entries.
    public static func add(_ peer: PeerNode, mode: NetworkMode) -> [String] {
        let subnet = peer.podSubnet.description
        switch mode {
        case .routed:
            return ["route replace \(subnet) via \(IPv4Network.format(peer.address)) proto \(routeProtocol)"]
        case .underlay:
            return []
        case .vxlan:
            let vtep = IPv4Network.format(vtepAddress(peer.podSubnet))
            let mac = vtepMAC(peer.podSubnet)
            return [
                "neigh replace \(vtep) lladdr \(mac) dev \(vxlanDevice) nud permanent",
                "route replace \(subnet) via \(vtep) dev \(vxlanDevice) onlink proto \(routeProtocol)",
            ]
        }
    }

    /// The route to an address held by a pod on this node (an IPPool address, outside the
    /// node's subnet): straight onto the bridge.
    public static func localRoute(_ target: String, bridge: String) -> String {
        "route replace \(target) dev \(bridge) proto \(routeProtocol) scope link"
    }

    /// The route to an address held by a pod on `peer`.
    public static func peerRoute(_ target: String, _ peer: PeerNode, mode: NetworkMode) -> String {
        switch mode {
        case .routed, .underlay:
            "route replace \(target) via \(IPv4Network.format(peer.address)) proto \(routeProtocol)"
        case .vxlan:
            "route replace \(target) via \(IPv4Network.format(vtepAddress(peer.podSubnet))) dev \(vxlanDevice) onlink proto \(routeProtocol)"
        }
    }

    /// `ip -batch` lines that remove one peer's entries.
    public static func remove(_ peer: PeerNode, mode: NetworkMode) -> [String] {
        let subnet = peer.podSubnet.description
        switch mode {
        case .routed:
            return ["route del \(subnet) proto \(routeProtocol)"]
        case .underlay:
            return []
        case .vxlan:
            return [
                "route del \(subnet) proto \(routeProtocol)",
                "neigh del \(IPv4Network.format(vtepAddress(peer.podSubnet))) dev \(vxlanDevice)",
            ]
        }
    }

    /// `bridge -batch` lines for a peer's forwarding entry (VXLAN only): frames for its tunnel
    /// MAC go to its node address.
    public static func forwardingAdd(_ peer: PeerNode) -> String {
        "fdb replace \(vtepMAC(peer.podSubnet)) dev \(vxlanDevice) dst \(IPv4Network.format(peer.address)) self permanent"
    }

    public static func forwardingRemove(_ peer: PeerNode) -> String {
        "fdb del \(vtepMAC(peer.podSubnet)) dev \(vxlanDevice) dst \(IPv4Network.format(peer.address)) self"
    }
}
