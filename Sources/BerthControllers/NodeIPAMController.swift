import BerthCore
import BerthNetwork
import Foundation
import Logging
import Synchronization

/// Gives every Node without one a pod subnet (`spec.podCIDR`, a /24 of the cluster pod CIDR),
/// as Kubernetes' node IPAM controller does. Agents may also bring their own (`--pod-subnet`);
/// those count as taken. A subnet is set once and never changed (the API refuses it).
public final class NodeIPAMController: Reconciler {
    public let name = "node-ipam"
    public let queue = WorkQueue(name: "node_ipam")
    /// One worker: allocation must see its own earlier choices.
    public var workers: Int { 1 }
    let nodes: Informer<Node>
    /// IPPool addresses are nobody's subnet: a /24 holding any of them is never handed out.
    let pools: Informer<IPPool>?
    let api: ResourceAPI
    let allocator: NodeSubnetAllocator
    let logger: Logger
    /// Subnets this controller handed out that the cache may not show yet.
    private let recent = Mutex<[String: IPv4Network]>([:])

    public init(nodes: Informer<Node>, pools: Informer<IPPool>? = nil, api: ResourceAPI, clusterCIDR: IPv4Network, logger: Logger) {
        self.nodes = nodes
        self.pools = pools
        self.api = api
        allocator = NodeSubnetAllocator(cluster: clusterCIDR)
        self.logger = logger
        nodes.addHandler { [queue] event in
            switch event {
            case .added(let node), .updated(_, let node):
                if (node.spec?.podCIDR ?? "").isEmpty { queue.add(Informer<Node>.key(node)) }
            case .deleted(let node):
                queue.add(Informer<Node>.key(node))
            }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let node = nodes.get(key) else {
            recent.withLock { _ = $0.removeValue(forKey: key) }
            return
        }
        if let cidr = node.spec?.podCIDR, !cidr.isEmpty {
            recent.withLock { _ = $0.removeValue(forKey: key) }
            return
        }
        if let pending = recent.withLock({ $0[key] }) {
            // Patched already; the cache has not caught up.
            try await assign(pending, to: key)
            return
        }
        var used = nodes.list().compactMap { $0.spec?.podCIDR.flatMap(IPv4Network.init) }
        used += recent.withLock { Array($0.values) }
        used += (pools?.list() ?? []).flatMap { Self.subnets(covering: $0.spec?.ranges ?? []) }
        guard let subnet = allocator.next(used: used) else {
            logger.error("the cluster pod CIDR is exhausted", metadata: ["node": "\(key)", "clusterCIDR": "\(allocator.cluster)"])
            throw BerthError(.internalError, "no free pod subnet in \(allocator.cluster) for node \(key)")
        }
        recent.withLock { $0[key] = subnet }
        try await assign(subnet, to: key)
        logger.info("pod subnet assigned", metadata: ["node": "\(key)", "podCIDR": "\(subnet)"])
    }

    private func assign(_ subnet: IPv4Network, to node: String) async throws(BerthError) {
        let text = JSONValue.string(subnet.description)
        do {
            try await api.mergePatch(ResourceDescriptor.node, namespace: nil, name: node, ["spec": ["podCIDR": text, "podCIDRs": [text]]])
        } catch where error.code == .notFound {
            recent.withLock { _ = $0.removeValue(forKey: node) }
        } catch where error.code == .invalid {
            // An IPPool took addresses in that subnet meanwhile (the API checks under a guard):
            // forget it and choose again once the pool is in the cache.
            recent.withLock { _ = $0.removeValue(forKey: node) }
            throw error
        }
    }

    /// The /24s that hold any address of `ranges`.
    static func subnets(covering ranges: [ClosedRange<UInt32>]) -> [IPv4Network] {
        var result: Set<IPv4Network> = []
        for range in ranges {
            var block = range.lowerBound & 0xFFFF_FF00
            while block <= range.upperBound {
                result.insert(IPv4Network(base: block, prefixLength: 24))
                guard block < 0xFFFF_FF00 else { break }
                block += 0x100
            }
        }
        return Array(result)
    }
}
