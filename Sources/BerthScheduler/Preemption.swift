import BerthCore

/// Where evicting `victims` (pods of lower priority) lets a pod that fits nowhere run.
public struct PreemptionPlan: Sendable, Equatable {
    public let nodeName: String
    public let nodeIndex: Int
    public let victims: [PodSummary]
}

public enum PreemptionResult: Sendable, Equatable {
    case preempt(PreemptionPlan)
    /// No node can be freed; `message` is kube-scheduler's `preemption: …` sentence, appended to
    /// the `FailedScheduling` text.
    case impossible(message: String)
}

/// kube-scheduler's default preemption, over the same snapshot the filters read:
/// - a node whose failure no eviction can cure (taints, node selection, cordoned) is "not
///   helpful";
/// - otherwise every pod of lower priority is removed in a copy of the node; if the pod then
///   fits, the removed pods are given back one by one, most important first, as long as it still
///   fits — those that cannot come back are the victims;
/// - among the candidate nodes the one whose most important victim has the lowest priority
///   wins, then the lowest sum of priorities, then the fewest victims, then the first found.
/// Pods holding a nomination (preemptors waiting for their own victims) are never victims.
/// PodDisruptionBudgets are not weighed (Kubernetes prefers nodes where evictions break none).
extension Scheduler {
    static let notHelpful = "Preemption is not helpful for scheduling"
    static let noVictims = "No preemption victims found for incoming pod"

    public func preemption(for pod: Pod, in snapshot: SchedulingSnapshot) -> PreemptionResult {
        if pod.spec?.preemptionPolicy == "Never" { return .impossible(message: "preemption: not eligible due to preemptionPolicy=Never.") }
        let request = SchedulingRequest(pod)
        let affinity = AffinityContext(request: request, snapshot: snapshot)
        let spread = request.spread.isEmpty ? nil : TopologySpreadContext(request: request, nodes: snapshot.nodes)
        var reasons: [String: Int] = [:]
        var best: (plan: PreemptionPlan, rank: VictimRank)?
        for index in 0..<snapshot.count {
            let node = snapshot.nodes[index]
            guard Self.evictionMayHelp(request, node) else {
                reasons[Self.notHelpful, default: 0] += 1
                continue
            }
            guard let victims = Self.victims(request, node, nominated: snapshot.nominated, affinity, spread) else {
                reasons[Self.noVictims, default: 0] += 1
                continue
            }
            let rank = VictimRank(victims)
            if best == nil || rank < best!.rank {
                best = (PreemptionPlan(nodeName: node.name, nodeIndex: index, victims: victims), rank)
            }
        }
        if let best { return .preempt(best.plan) }
        return .impossible(message: "preemption: " + Self.message(nodeCount: snapshot.count, reasons: reasons))
    }

    /// Failures that stay whatever runs on the node.
    static func evictionMayHelp(_ request: SchedulingRequest, _ node: NodeInfo) -> Bool {
        if node.unschedulable, !request.tolerations.contains(where: { $0.tolerates(Taint(key: TaintKeys.unschedulable, effect: "NoSchedule")) }) {
            return false
        }
        return SchedulingFilters.untoleratedTaint(request, node) == nil && SchedulingFilters.matchesNodeSelection(request, node)
    }

    /// The fewest, least important pods whose eviction lets the pod fit; nil when even evicting
    /// every pod of lower priority does not.
    static func victims(_ request: SchedulingRequest, _ node: NodeInfo, nominated: Set<String>, _ affinity: AffinityContext,
                        _ spread: TopologySpreadContext?) -> [PodSummary]? {
        let priority = request.summary.priority
        let lower = node.pods.filter { $0.priority < priority && !nominated.contains($0.uid) }
        guard !lower.isEmpty else { return nil }
        var trial = node
        for pod in lower { trial.remove(uid: pod.uid) }
        guard SchedulingFilters.reasons(request, trial, affinity, spread).isEmpty else { return nil }
        // Most important first, so that they are the ones spared.
        let candidates = lower.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        var victims: [PodSummary] = []
        for pod in candidates {
            trial.add(pod)
            if !SchedulingFilters.reasons(request, trial, affinity, spread).isEmpty {
                trial.remove(uid: pod.uid)
                victims.append(pod)
            }
        }
        return victims
    }
}

/// How bad a node's victims are; smaller is better.
struct VictimRank: Comparable {
    let highestPriority: Int32
    let prioritySum: Int64
    let count: Int

    init(_ victims: [PodSummary]) {
        highestPriority = victims.map(\.priority).max() ?? Int32.min
        // Shifted so that negative priorities do not make a longer list look cheaper.
        prioritySum = victims.reduce(0) { $0 + Int64($1.priority) + Int64(Int32.max) + 1 }
        count = victims.count
    }

    static func < (lhs: VictimRank, rhs: VictimRank) -> Bool {
        (lhs.highestPriority, lhs.prioritySum, lhs.count) < (rhs.highestPriority, rhs.prioritySum, rhs.count)
    }
}
