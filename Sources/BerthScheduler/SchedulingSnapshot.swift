import BerthCore

/// The cluster as one scheduling decision sees it. The scheduler service owns one value and
/// updates it in place (`assume` after each decision, `apply` for watched changes), so a
/// decision never waits for the API to echo the previous binding back.
public struct SchedulingSnapshot: Sendable {
    public private(set) var nodes: [NodeInfo] = []
    /// Per node, in step with `nodes`: what the fast path reads.
    private(set) var hot: [NodeHot] = []
    /// Zone names by the index `NodeHot.zone` holds.
    private(set) var zoneNames: [String] = []
    private var zoneIndex: [String: Int32] = [:]
    /// Nodes reporting images: only then is image locality worth computing.
    private(set) var nodesWithImages = 0
    private var indexByName: [String: Int] = [:]
    /// Where each placed pod runs, by UID.
    private var nodeOfPod: [String: Int] = [:]
    /// Placed pods per controlling owner UID and node index, for spreading replicas.
    private(set) var ownerCounts: [String: [Int: Int]] = [:]
    /// Number of placed pods that carry required anti-affinity terms: when zero, the symmetric
    /// anti-affinity check is skipped without looking at any pod.
    private(set) var podsWithAntiAffinity = 0
    /// Pods that preempted others and wait for them to go: counted on their nominated node (so
    /// that other pods do not take the room being freed) but not bound, so never victims.
    public private(set) var nominated: Set<String> = []
    /// Labels per namespace, for affinity terms' `namespaceSelector`.
    public private(set) var namespaceLabels: [String: [String: String]] = [:]
    /// Disruption budgets in force: preemption prefers victims whose eviction breaks none.
    public var budgets: [PreemptionBudget] = []

    public init() {}

    public init(nodes: [Node], pods: [Pod]) {
        for node in nodes { upsert(node) }
        for pod in pods where pod.spec?.nodeName != nil && !Self.isTerminal(pod) { place(pod) }
    }

    public var count: Int { nodes.count }

    public func index(of name: String) -> Int? { indexByName[name] }

    public func node(named name: String) -> NodeInfo? { indexByName[name].map { nodes[$0] } }

    /// Adds or replaces a node, keeping the pods already placed on it.
    public mutating func upsert(_ node: Node) {
        let name = node.metadata.name ?? ""
        var info = NodeInfo(node: node)
        let hotNode = NodeHot(info, zone: zone(info.labels[TopologyKeys.zone]))
        if !info.images.isEmpty { nodesWithImages += 1 }
        if let index = indexByName[name] {
            if !nodes[index].images.isEmpty { nodesWithImages -= 1 }
            for pod in nodes[index].pods { info.add(pod) }
            nodes[index] = info
            hot[index] = hotNode
            syncRequested(index)
        } else {
            indexByName[name] = nodes.count
            nodes.append(info)
            hot.append(hotNode)
        }
    }

    private mutating func zone(_ name: String?) -> Int32 {
        guard let name else { return -1 }
        if let index = zoneIndex[name] { return index }
        let index = Int32(zoneNames.count)
        zoneNames.append(name)
        zoneIndex[name] = index
        return index
    }

    private mutating func syncRequested(_ index: Int) {
        let requested = nodes[index].requested
        hot[index].requestedCPU = requested.milliCPU
        hot[index].requestedMemory = requested.memory
        hot[index].requestedPods = requested.pods
    }

    public mutating func removeNode(named name: String) {
        guard let index = indexByName[name] else { return }
        for pod in nodes[index].pods { forget(uid: pod.uid) }
        if !nodes[index].images.isEmpty { nodesWithImages -= 1 }
        let last = nodes.count - 1
        if index != last {
            // Move the last node into the hole and repoint everything that referred to it.
            nodes.swapAt(index, last)
            hot.swapAt(index, last)
            indexByName[nodes[index].name] = index
            for pod in nodes[index].pods { nodeOfPod[pod.uid] = index }
            for (owner, counts) in ownerCounts {
                guard let moved = counts[last] else { continue }
                ownerCounts[owner]?[last] = nil
                ownerCounts[owner]?[index] = moved
            }
        }
        nodes.removeLast()
        hot.removeLast()
        indexByName[name] = nil
    }

    /// Records a pod bound (or assumed bound) to its `spec.nodeName`; a pod already known moves.
    public mutating func place(_ pod: Pod) {
        guard let nodeName = pod.spec?.nodeName, let index = indexByName[nodeName] else { return }
        let summary = PodSummary(pod)
        // A bound pod no longer holds a nomination.
        if nominated.contains(summary.uid) { forget(uid: summary.uid) }
        if let existing = nodeOfPod[summary.uid] {
            if existing == index { return }
            forget(uid: summary.uid)
        }
        assume(summary, on: index)
    }

    /// Counts a pod against a node right after the scheduler chose it.
    public mutating func assume(_ pod: PodSummary, on index: Int) {
        nodes[index].add(pod)
        syncRequested(index)
        nodeOfPod[pod.uid] = index
        if let owner = pod.ownerUID { ownerCounts[owner, default: [:]][index, default: 0] += 1 }
        if !pod.requiredAntiAffinity.isEmpty { podsWithAntiAffinity += 1 }
    }

    public mutating func setNamespaceLabels(_ name: String, _ labels: [String: String]?) {
        namespaceLabels[name] = labels
    }

    /// Holds room on a node for a pod that preempted pods there.
    public mutating func nominate(_ pod: PodSummary, on index: Int) {
        forget(uid: pod.uid)
        assume(pod, on: index)
        nominated.insert(pod.uid)
    }

    /// Drops a pod that was deleted, finished, or whose binding failed.
    public mutating func forget(uid: String) {
        if !nominated.isEmpty { nominated.remove(uid) }
        guard let index = nodeOfPod.removeValue(forKey: uid), let pod = nodes[index].remove(uid: uid) else { return }
        syncRequested(index)
        if let owner = pod.ownerUID {
            ownerCounts[owner]?[index, default: 1] -= 1
            if ownerCounts[owner]?[index] == 0 { ownerCounts[owner]?[index] = nil }
            if ownerCounts[owner]?.isEmpty == true { ownerCounts[owner] = nil }
        }
        if !pod.requiredAntiAffinity.isEmpty { podsWithAntiAffinity -= 1 }
    }

    public func isPlaced(uid: String) -> Bool { nodeOfPod[uid] != nil }

    /// Placed and not merely nominated: bound, or chosen with its binding still in flight.
    public func isAssumed(uid: String) -> Bool { nodeOfPod[uid] != nil && !nominated.contains(uid) }

    /// Succeeded and Failed pods hold no resources.
    public static func isTerminal(_ pod: Pod) -> Bool {
        pod.status?.phase == "Succeeded" || pod.status?.phase == "Failed"
    }
}
