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
/// - among the candidate nodes the one whose victims break the fewest disruption budgets wins,
///   then the one whose most important victim has the lowest priority, then the lowest sum of
///   priorities, then the fewest victims, then the first found.
/// Disruption budgets are weighed as kube-scheduler weighs them: on a node, victims whose
/// eviction would break a budget are the first given back, and the node whose victims break the
/// fewest budgets wins before anything else; a budget is never a hard stop.
/// Pods holding a nomination (preemptors waiting for their own victims) are never victims.
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
            guard let (victims, violations) = Self.victims(request, node, nominated: snapshot.nominated, budgets: snapshot.budgets, affinity, spread) else {
                reasons[Self.noVictims, default: 0] += 1
                continue
            }
            let rank = VictimRank(victims, budgetViolations: violations)
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

    /// The fewest, least important pods whose eviction lets the pod fit, and how many of them
    /// break a disruption budget; nil when even evicting every pod of lower priority does not.
    static func victims(_ request: SchedulingRequest, _ node: NodeInfo, nominated: Set<String>, budgets: [PreemptionBudget],
                        _ affinity: AffinityContext, _ spread: TopologySpreadContext?) -> (victims: [PodSummary], budgetViolations: Int)? {
        let priority = request.summary.priority
        let lower = node.pods.filter { $0.priority < priority && !nominated.contains($0.uid) }
        guard !lower.isEmpty else { return nil }
        var trial = node
        for pod in lower { trial.remove(uid: pod.uid) }
        guard SchedulingFilters.reasons(request, trial, affinity, spread).isEmpty else { return nil }
        // Most important first, so that they are the ones spared; those whose eviction would
        // break a budget before all others.
        let ordered = lower.sorted { $0.priority != $1.priority ? $0.priority > $1.priority : ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        let breaking = PreemptionBudget.breaking(ordered, budgets)
        var victims: [PodSummary] = []
        var violations = 0
        for pod in ordered.filter({ breaking.contains($0.uid) }) + ordered.filter({ !breaking.contains($0.uid) }) {
            trial.add(pod)
            if !SchedulingFilters.reasons(request, trial, affinity, spread).isEmpty {
                trial.remove(uid: pod.uid)
                victims.append(pod)
                if breaking.contains(pod.uid) { violations += 1 }
            }
        }
        return (victims, violations)
    }
}

/// A PodDisruptionBudget as preemption weighs it.
public struct PreemptionBudget: Sendable {
    public let namespace: String
    public let selector: LabelSelector
    public let disruptionsAllowed: Int

    public init?(_ budget: PodDisruptionBudget) {
        guard let spec = budget.spec?.selector, let selector = try? LabelSelector(spec), !selector.isEmpty else { return nil }
        namespace = budget.metadata.namespace ?? "default"
        self.selector = selector
        disruptionsAllowed = Int(budget.status?.disruptionsAllowed ?? 0)
    }

    /// UIDs of the pods whose eviction, in this order, takes a budget below zero (kube-scheduler
    /// counts each candidate against every budget that selects it).
    static func breaking(_ pods: [PodSummary], _ budgets: [PreemptionBudget]) -> Set<String> {
        guard !budgets.isEmpty else { return [] }
        var allowed = budgets.map(\.disruptionsAllowed)
        var result: Set<String> = []
        for pod in pods {
            for (index, budget) in budgets.enumerated() where budget.namespace == pod.namespace && budget.selector.matches(pod.labels) {
                allowed[index] -= 1
                if allowed[index] < 0 { result.insert(pod.uid) }
            }
        }
        return result
    }
}

/// How bad a node's victims are; smaller is better.
struct VictimRank: Comparable {
    let budgetViolations: Int
    let highestPriority: Int32
    let prioritySum: Int64
    let count: Int

    init(_ victims: [PodSummary], budgetViolations: Int) {
        self.budgetViolations = budgetViolations
        highestPriority = victims.map(\.priority).max() ?? Int32.min
        // Shifted so that negative priorities do not make a longer list look cheaper.
        prioritySum = victims.reduce(0) { $0 + Int64($1.priority) + Int64(Int32.max) + 1 }
        count = victims.count
    }

    static func < (lhs: VictimRank, rhs: VictimRank) -> Bool {
        (lhs.budgetViolations, lhs.highestPriority, lhs.prioritySum, lhs.count) < (rhs.budgetViolations, rhs.highestPriority, rhs.prioritySum, rhs.count)
    }
}
