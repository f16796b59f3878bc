import BerthCore
import Foundation
import Logging

/// Taints a node by its pressure conditions, as Kubernetes' TaintNodesByCondition does:
/// `node.kubernetes.io/memory-pressure`, `disk-pressure` and `pid-pressure` with effect
/// NoSchedule while the condition is True, so the scheduler places nothing new there (pods that
/// tolerate them excepted); lifted when it turns False.
public final class NodePressureTaintController: Reconciler {
    public let name = "node-pressure-taints"
    public let queue = WorkQueue(name: "node_pressure_taints")
    public var workers: Int { 1 }
    let nodes: Informer<Node>
    let api: ResourceAPI
    let logger: Logger

    static let taintKeys = ["MemoryPressure": "node.kubernetes.io/memory-pressure", "DiskPressure": "node.kubernetes.io/disk-pressure",
                            "PIDPressure": "node.kubernetes.io/pid-pressure"]

    public init(nodes: Informer<Node>, api: ResourceAPI, logger: Logger) {
        self.nodes = nodes
        self.api = api
        self.logger = logger
        nodes.addHandler { [queue] event in
            if case .deleted = event { return }
            if Self.desiredTaints(event.object) != nil { queue.add(Informer<Node>.key(event.object)) }
        }
    }

    /// The node's taints as its conditions want them; nil when they already are.
    static func desiredTaints(_ node: Node) -> [Taint]? {
        let current = node.spec?.taints ?? []
        var desired = current.filter { !taintKeys.values.contains($0.key) }
        for condition in node.status?.conditions ?? [] where condition.status == "True" {
            guard let key = taintKeys[condition.type] else { continue }
            desired.append(current.first { $0.key == key && $0.effect == "NoSchedule" }
                ?? Taint(key: key, effect: "NoSchedule", timeAdded: TableCells.formatTimestamp(Date())))
        }
        let sameKeys = Set(desired.map { "\($0.key)/\($0.effect)" }) == Set(current.map { "\($0.key)/\($0.effect)" })
        return sameKeys ? nil : desired
    }

    public func reconcile(_ key: String) async throws {
        guard let cached = nodes.get(key), Self.desiredTaints(cached) != nil,
              var node = try await api.get(ResourceDescriptor.node, namespace: nil, name: cached.metadata.name ?? "", as: Node.self),
              let taints = Self.desiredTaints(node) else { return }
        if node.spec == nil { node.spec = try JSONValue.object([:]).decode(NodeSpec.self) }
        node.spec?.taints = taints.isEmpty ? nil : taints
        logger.info("node pressure taints changed", metadata: ["node": "\(key)", "taints": "\(taints.map(\.key))"])
        try await api.update(ResourceDescriptor.node, node)
    }
}
