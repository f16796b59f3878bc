import BerthCore

/// One `topologySpreadConstraints` entry, resolved for the pod being placed.
struct SpreadConstraint {
    let maxSkew: Int
    let topologyKey: String
    /// `DoNotSchedule` (a filter) rather than `ScheduleAnyway` (a score).
    let hard: Bool
    /// The selector with `matchLabelKeys` folded in; nil matches nothing.
    let selector: LabelSelector?
    let minDomains: Int
    /// `nodeAffinityPolicy: Honor` (the default): only nodes the pod may go to count.
    let honorNodeAffinity: Bool
    /// `nodeTaintsPolicy: Honor`: nodes with taints the pod does not tolerate do not count.
    let honorTaints: Bool

    init(_ raw: TopologySpreadConstraint, podLabels: [String: String]) {
        maxSkew = max(1, Int(raw.maxSkew))
        topologyKey = raw.topologyKey
        hard = raw.whenUnsatisfiable != "ScheduleAnyway"
        var spec = raw.labelSelector
        // matchLabelKeys: the incoming pod's own values for these keys join the selector, so
        // only pods of the same revision (pod-template-hash) are spread against each other.
        if var selector = spec, let keys = raw.matchLabelKeys {
            var labels = selector.matchLabels ?? [:]
            for key in keys { if let value = podLabels[key] { labels[key] = value } }
            selector.matchLabels = labels
            spec = selector
        }
        selector = spec.flatMap { try? LabelSelector($0) }
        minDomains = hard ? max(1, Int(raw.minDomains ?? 1)) : 1
        honorNodeAffinity = raw.nodeAffinityPolicy != "Ignore"
        honorTaints = raw.nodeTaintsPolicy == "Honor"
    }
}

/// kube-scheduler's PodTopologySpread, worked out once per decision in one pass over the nodes:
/// per constraint, how many matching pods (same namespace) each topology domain of the eligible
/// nodes holds. A hard constraint rejects a node whose domain would exceed the smallest domain's
/// count by more than `maxSkew`; soft ones score domains with fewer matching pods higher.
struct TopologySpreadContext {
    let constraints: [SpreadConstraint]
    /// Per constraint: topology value → matching pods.
    private(set) var counts: [[String: Int]]
    /// Per constraint: the smallest count over eligible domains (0 below `minDomains` domains).
    private(set) var minimum: [Int]
    /// Per constraint: 1 when the incoming pod matches its own selector.
    private let selfMatch: [Int]

    static let mismatch = "node(s) didn't match pod topology spread constraints"
    static let missingLabel = "node(s) didn't match pod topology spread constraints (missing required label)"

    var isEmpty: Bool { constraints.isEmpty }
    var hasSoft: Bool { constraints.contains { !$0.hard } }

    init(request: SchedulingRequest, nodes: [NodeInfo]) {
        constraints = request.spread
        counts = Array(repeating: [:], count: constraints.count)
        minimum = Array(repeating: 0, count: constraints.count)
        let incoming = request.summary
        selfMatch = constraints.map { $0.selector?.matches(incoming.labels) == true ? 1 : 0 }
        guard !constraints.isEmpty else { return }
        for node in nodes {
            let selectable = SchedulingFilters.matchesNodeSelection(request, node)
            let tolerated = SchedulingFilters.untoleratedTaint(request, node) == nil
            for (index, constraint) in constraints.enumerated() {
                guard let value = node.labels[constraint.topologyKey] else { continue }
                if constraint.honorNodeAffinity && !selectable { continue }
                if constraint.honorTaints && !tolerated { continue }
                let matching = constraint.selector.map { selector in
                    node.pods.reduce(0) { $0 + ($1.namespace == incoming.namespace && $1.uid != incoming.uid && selector.matches($1.labels) ? 1 : 0) }
                } ?? 0
                counts[index][value, default: 0] += matching
            }
        }
        for (index, constraint) in constraints.enumerated() {
            let domains = counts[index]
            minimum[index] = domains.count < constraint.minDomains ? 0 : (domains.values.min() ?? 0)
        }
    }

    /// Why `node` breaks a hard constraint, in kube-scheduler's words; nil when it does not.
    func filterReason(_ node: NodeInfo) -> String? {
        for (index, constraint) in constraints.enumerated() where constraint.hard {
            guard let value = node.labels[constraint.topologyKey] else { return Self.missingLabel }
            let skew = (counts[index][value] ?? 0) + selfMatch[index] - minimum[index]
            if skew > constraint.maxSkew { return Self.mismatch }
        }
        return nil
    }

    /// Matching pods in the node's domains over the soft constraints (lower is better); a node
    /// without a constraint's label counts as the worst domain of it.
    func softScore(_ node: NodeInfo) -> Double {
        var total = 0.0
        for (index, constraint) in constraints.enumerated() where !constraint.hard {
            let count = node.labels[constraint.topologyKey].map { counts[index][$0] ?? 0 } ?? ((counts[index].values.max() ?? 0) + 1)
            total += Double(count)
        }
        return total
    }
}
