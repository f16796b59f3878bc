import BerthCore

/// The cluster as one scheduling decision sees it. The scheduler service owns one value and
/// updates it in place (`assume` after each decision, `apply` for watched changes), so a
/// decision never waits for the API to echo the previous binding back.
public struct SchedulingSnapshot: Sendable {
    public private(set) var nodes: [NodeInfo] = []
    private var indexByName: [String: Int] = [:]
    /// Where each placed pod runs, by UID.
    private var nodeOfPod: [String: Int] = [:]
    /// Placed pods per controlling owner UID and node index, for spreading replicas.
    private(set) var ownerCounts: [String: [Int: Int]] = [:]
    /// Number of placed pods that carry required anti-affinity terms: when zero, the symmetric
    /// anti-affinity check is skipped without looking at any pod.
    private(set) var podsWithAntiAffinity = 0

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
        if let index = indexByName[name] {
            for pod in nodes[index].pods { info.add(pod) }
            nodes[index] = info
        } else {
            indexByName[name] = nodes.count
            nodes.append(info)
        }
    }

    public mutating func removeNode(named name: String) {
        guard let index = indexByName[name] else { return }
        for pod in nodes[index].pods { forget(uid: pod.uid) }
        let last = nodes.count - 1
        if index != last {
            // Move the last node into the hole and repoint everything that referred to it.
            nodes.swapAt(index, last)
            indexByName[nodes[index].name] = index
            for pod in nodes[index].pods { nodeOfPod[pod.uid] = index }
            for (owner, counts) in ownerCounts {
                guard let moved = counts[last] else { continue }
                ownerCounts[owner]?[last] = nil
                ownerCounts[owner]?[index] = moved
            }
        }
        nodes.removeLast()
        indexByName[name] = nil
    }

    /// Records a pod bound (or assumed bound) to its `spec.nodeName`; a pod already known moves.
    public mutating func place(_ pod: Pod) {
        guard let nodeName = pod.spec?.nodeName, let index = indexByName[nodeName] else { return }
        let summary = PodSummary(pod)
        if let existing = nodeOfPod[summary.uid] {
            if existing == index { return }
            forget(uid: summary.uid)
        }
        assume(summary, on: index)
    }

    /// Counts a pod against a node right after the scheduler chose it.
    public mutating func assume(_ pod: PodSummary, on index: Int) {
        nodes[index].add(pod)
        nodeOfPod[pod.uid] = index
        if let owner = pod.ownerUID { ownerCounts[owner, default: [:]][index, default: 0] += 1 }
        if !pod.requiredAntiAffinity.isEmpty { podsWithAntiAffinity += 1 }
    }

    /// Drops a pod that was deleted, finished, or whose binding failed.
    public mutating func forget(uid: String) {
        guard let index = nodeOfPod.removeValue(forKey: uid), let pod = nodes[index].remove(uid: uid) else { return }
        if let owner = pod.ownerUID {
            ownerCounts[owner]?[index, default: 1] -= 1
            if ownerCounts[owner]?[index] == 0 { ownerCounts[owner]?[index] = nil }
            if ownerCounts[owner]?.isEmpty == true { ownerCounts[owner] = nil }
        }
        if !pod.requiredAntiAffinity.isEmpty { podsWithAntiAffinity -= 1 }
    }

    public func isPlaced(uid: String) -> Bool { nodeOfPod[uid] != nil }

    /// Succeeded and Failed pods hold no resources.
    public static func isTerminal(_ pod: Pod) -> Bool {
        pod.status?.phase == "Succeeded" || pod.status?.phase == "Failed"
    }
}
