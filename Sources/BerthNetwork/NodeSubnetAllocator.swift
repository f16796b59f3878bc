/// Hands each node its pod subnet (a /24 by default) out of the cluster pod CIDR, as Kubernetes'
/// node IPAM controller does: the lowest subnet that overlaps none in use.
public struct NodeSubnetAllocator: Sendable {
    public let cluster: IPv4Network
    public let subnetPrefixLength: Int

    public init(cluster: IPv4Network, subnetPrefixLength: Int = 24) {
        precondition(subnetPrefixLength >= cluster.prefixLength && subnetPrefixLength <= 30)
        self.cluster = cluster
        self.subnetPrefixLength = subnetPrefixLength
    }

    /// The first free subnet, or nil when the cluster CIDR is exhausted.
    public func next(used: some Sequence<IPv4Network>) -> IPv4Network? {
        let step = UInt64(1) << UInt64(32 - subnetPrefixLength)
        // Blocks of `step` addresses taken by anything in use (a larger or smaller network alike).
        var taken = Set<UInt64>()
        for network in used where network.overlaps(cluster) {
            let first = (UInt64(max(network.base, cluster.base)) - UInt64(cluster.base)) / step
            let last = (UInt64(min(network.last, cluster.last)) - UInt64(cluster.base)) / step
            for block in first...last { taken.insert(block) }
        }
        let count = cluster.size / step
        var block: UInt64 = 0
        while block < count {
            if !taken.contains(block) { return IPv4Network(base: cluster.base &+ UInt32(block * step), prefixLength: subnetPrefixLength) }
            block += 1
        }
        return nil
    }
}
