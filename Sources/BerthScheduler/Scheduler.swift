import BerthCore

/// Where a pod goes, or why it cannot go anywhere.
public enum SchedulingResult: Sendable, Equatable {
    case placed(nodeName: String, nodeIndex: Int)
    /// `message` is the `FailedScheduling` text, e.g. "0/3 nodes are available: 2 Insufficient
    /// cpu, 1 node(s) had untolerated taint {dedicated: gpu}."; `reasons` counts nodes per reason.
    case unschedulable(message: String, reasons: [String: Int])
}

/// The scheduling algorithm: filter the nodes, score the feasible ones, pick the best (ties
/// broken at random). Pure: it reads the snapshot and the pod, and touches nothing else.
public struct Scheduler: Sendable {
    /// Share of nodes to look at once enough feasible ones are found; nil picks it from the
    /// cluster size as kube-scheduler does (50% at 100 nodes, falling to 5% near 6,000).
    public var percentageOfNodesToScore: Int?
    /// Never stop looking before this many feasible nodes (all of them in a small cluster).
    public var minimumFeasibleNodes = 100

    public init(percentageOfNodesToScore: Int? = nil) {
        self.percentageOfNodesToScore = percentageOfNodesToScore
    }

    /// How many feasible nodes to find before scoring, for a cluster of `count` nodes.
    public func feasibleNodesToFind(_ count: Int) -> Int {
        if count <= minimumFeasibleNodes { return count }
        let percentage = percentageOfNodesToScore ?? max(5, 50 - count / 125)
        return min(count, max(minimumFeasibleNodes, count * percentage / 100))
    }

    /// Places `pod`, looking at nodes from `startIndex` on (callers rotate it, so successive
    /// decisions spread their sampling over the whole cluster). `evaluated` says how many nodes
    /// were looked at.
    public func schedule(_ pod: Pod, in snapshot: SchedulingSnapshot, startIndex: Int = 0,
                         using generator: inout FastRandom) -> (result: SchedulingResult, evaluated: Int) {
        let count = snapshot.count
        guard count > 0 else { return (.unschedulable(message: "0/0 nodes are available: no nodes registered.", reasons: [:]), 0) }
        let request = SchedulingRequest(pod)
        let affinity = AffinityContext(request: request, snapshot: snapshot)
        let spread = request.spread.isEmpty ? nil : TopologySpreadContext(request: request, nodes: snapshot.nodes)
        let simple = request.isSimple && snapshot.podsWithAntiAffinity == 0 && (request.images.isEmpty || snapshot.nodesWithImages == 0)
        let wanted = feasibleNodesToFind(count)
        var feasible: [Int] = []
        feasible.reserveCapacity(wanted)
        var reasons: [String: Int] = [:]
        var evaluated = 0
        while evaluated < count && feasible.count < wanted {
            let index = (startIndex + evaluated) % count
            evaluated += 1
            let failures = simple ? SchedulingFilters.fastReasons(request, snapshot, index)
                : SchedulingFilters.reasons(request, snapshot.nodes[index], affinity, spread)
            if failures.isEmpty {
                feasible.append(index)
            } else {
                for reason in failures { reasons[reason, default: 0] += 1 }
            }
        }
        guard !feasible.isEmpty else {
            return (.unschedulable(message: Self.message(nodeCount: count, reasons: reasons), reasons: reasons), evaluated)
        }
        if feasible.count == 1 { return (.placed(nodeName: snapshot.nodes[feasible[0]].name, nodeIndex: feasible[0]), evaluated) }
        let best = simple ? pickBestFast(request, snapshot, feasible, using: &generator)
            : pickBest(request, snapshot, feasible, affinity, spread, using: &generator)
        return (.placed(nodeName: snapshot.nodes[best].name, nodeIndex: best), evaluated)
    }

    private func pickBest(_ request: SchedulingRequest, _ snapshot: SchedulingSnapshot, _ feasible: [Int], _ affinity: AffinityContext,
                          _ spread: TopologySpreadContext?, using generator: inout FastRandom) -> Int {
        let ownerCounts = request.summary.ownerUID.flatMap { snapshot.ownerCounts[$0] }
        var zoneCounts: [String: Int]?
        if let ownerCounts {
            var counts: [String: Int] = [:]
            for (index, number) in ownerCounts {
                if let zone = snapshot.nodes[index].labels[TopologyKeys.zone] { counts[zone, default: 0] += number }
            }
            zoneCounts = counts
        }
        var zonesInUse = false
        let scores = feasible.map { index in
            let node = snapshot.nodes[index]
            if !zonesInUse, node.labels[TopologyKeys.zone] != nil { zonesInUse = true }
            var score = SchedulingScores.raw(request, node, index: index, affinity, ownerCounts: ownerCounts, zoneCounts: zoneCounts)
            if let spread, spread.hasSoft { score.topologySpreadRaw = spread.softScore(node) }
            return score
        }
        return Self.choose(feasible, SchedulingScores.totals(scores, zonesInUse: zonesInUse), using: &generator)
    }

    /// The fast path's scoring: the same scores, from `NodeHot` and the owner's counts only.
    private func pickBestFast(_ request: SchedulingRequest, _ snapshot: SchedulingSnapshot, _ feasible: [Int], using generator: inout FastRandom) -> Int {
        let ownerCounts = request.summary.ownerUID.flatMap { snapshot.ownerCounts[$0] }
        var zoneCounts = [Int](repeating: 0, count: snapshot.zoneNames.count)
        if let ownerCounts {
            for (index, number) in ownerCounts where snapshot.hot[index].zone >= 0 { zoneCounts[Int(snapshot.hot[index].zone)] += number }
        }
        let requests = request.summary.requests
        var zonesInUse = false
        var scores: [NodeScores] = []
        scores.reserveCapacity(feasible.count)
        for index in feasible {
            let hot = snapshot.hot[index]
            if hot.zone >= 0 { zonesInUse = true }
            let cpu = SchedulingScores.fraction(hot.requestedCPU + requests.milliCPU, hot.allocatableCPU)
            let memory = SchedulingScores.fraction(hot.requestedMemory + requests.memory, hot.allocatableMemory)
            scores.append(NodeScores(
                leastAllocated: ((1 - cpu) + (1 - memory)) * 50, balanced: (1 - abs(cpu - memory) / 2) * 100, imageLocality: 0,
                nodeAffinityRaw: 0, podAffinityRaw: 0, ownerPodsOnNode: ownerCounts?[index] ?? 0,
                ownerPodsInZone: hot.zone >= 0 ? zoneCounts[Int(hot.zone)] : 0, intolerablePreferNoSchedule: Int(hot.preferNoScheduleTaints)))
        }
        return Self.choose(feasible, SchedulingScores.totals(scores, zonesInUse: zonesInUse), using: &generator)
    }

    /// The best-scoring node; reservoir sampling among those that share the top score, so each
    /// is equally likely.
    static func choose(_ feasible: [Int], _ totals: [Double], using generator: inout FastRandom) -> Int {
        var best = feasible[0]
        var bestScore = totals[0]
        var ties = 1
        for position in 1..<feasible.count {
            let score = totals[position]
            if score > bestScore + 1e-9 {
                best = feasible[position]
                bestScore = score
                ties = 1
            } else if abs(score - bestScore) <= 1e-9 {
                ties += 1
                if Int.random(in: 0..<ties, using: &generator) == 0 { best = feasible[position] }
            }
        }
        return best
    }

    /// kube-scheduler's summary line; reasons with more nodes come first, then by text.
    static func message(nodeCount: Int, reasons: [String: Int]) -> String {
        let parts = reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        return "0/\(nodeCount) nodes are available: \(parts.joined(separator: ", "))."
    }
}

extension Scheduler {
    /// Whether `node` would take `pod` as far as placement rules go (node selector, required
    /// node affinity, NoSchedule/NoExecute taints, cordoning), leaving resources aside. The
    /// DaemonSet controller uses it to decide which nodes should run a daemon pod.
    public static func nodeAccepts(_ pod: Pod, _ node: Node) -> Bool {
        let request = SchedulingRequest(pod)
        let info = NodeInfo(node: node)
        let unschedulable = Taint(key: TaintKeys.unschedulable, effect: "NoSchedule")
        if info.unschedulable, !request.tolerations.contains(where: { $0.tolerates(unschedulable) }) { return false }
        return SchedulingFilters.untoleratedTaint(request, info) == nil && SchedulingFilters.matchesNodeSelection(request, info)
    }
}
