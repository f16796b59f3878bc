import BerthCore

/// Feasibility checks, in kube-scheduler's order. Each returns the reasons a node cannot take
/// the pod, worded as kube-scheduler words them so `FailedScheduling` reads the same.
enum SchedulingFilters {
    static func reasons(_ request: SchedulingRequest, _ node: NodeInfo, _ affinity: AffinityContext,
                        _ spread: TopologySpreadContext? = nil) -> [String] {
        if node.unschedulable, !request.tolerations.contains(where: { $0.tolerates(Taint(key: TaintKeys.unschedulable, effect: "NoSchedule")) }) {
            return ["node(s) were unschedulable"]
        }
        if let taint = untoleratedTaint(request, node) {
            return [untoleratedTaintReason(taint)]
        }
        if !matchesNodeSelection(request, node) { return ["node(s) didn't match Pod's node affinity/selector"] }
        if !request.summary.hostPorts.isEmpty, hasPortConflict(request.summary.hostPorts, node.hostPorts) {
            return ["node(s) didn't have free ports for the requested pod ports"]
        }
        let insufficient = insufficientResources(request.summary.requests, node)
        if !insufficient.isEmpty { return insufficient }
        if !affinity.isEmpty, let reason = podAffinityReason(request, node, affinity) { return [reason] }
        if let spread, let reason = spread.filterReason(node) { return [reason] }
        return []
    }

    /// The fast path's filter for a pod that only asks for cpu, memory and a pod slot; a node
    /// with blocking taints goes through the full filter for the exact message.
    static func fastReasons(_ request: SchedulingRequest, _ snapshot: SchedulingSnapshot, _ index: Int) -> [String] {
        let hot = snapshot.hot[index]
        if hot.unschedulable { return ["node(s) were unschedulable"] }
        if hot.blockingTaints {
            // Most tainted nodes fail on the taint, which their taints alone show: handing the
            // whole NodeInfo to the full filter copied it (a retain per field), a quarter of the
            // scheduler's samples when a thousand nodes were NotReady.
            if let taint = untoleratedTaint(request, snapshot.nodes[index].taints) {
                return [untoleratedTaintReason(taint)]
            }
            return reasons(request, snapshot.nodes[index], AffinityContext())
        }
        let requests = request.summary.requests
        let tooMany = requests.pods > hot.allocatablePods - hot.requestedPods
        let cpu = requests.milliCPU > 0 && requests.milliCPU > hot.allocatableCPU - hot.requestedCPU
        let memory = requests.memory > 0 && requests.memory > hot.allocatableMemory - hot.requestedMemory
        if !tooMany && !cpu && !memory { return [] }
        var reasons: [String] = []
        if tooMany { reasons.append("Too many pods") }
        if cpu { reasons.append("Insufficient cpu") }
        if memory { reasons.append("Insufficient memory") }
        return reasons
    }

    /// kube-scheduler's words for a node whose taint the pod does not tolerate.
    static func untoleratedTaintReason(_ taint: Taint) -> String {
        "node(s) had untolerated taint {\(taint.key): \(taint.value ?? "")}"
    }

    static func untoleratedTaint(_ request: SchedulingRequest, _ node: NodeInfo) -> Taint? {
        untoleratedTaint(request, node.taints)
    }

    static func untoleratedTaint(_ request: SchedulingRequest, _ taints: [Taint]) -> Taint? {
        taints.first { taint in
            (taint.effect == "NoSchedule" || taint.effect == "NoExecute") && !request.tolerations.contains { $0.tolerates(taint) }
        }
    }

    static func matchesNodeSelection(_ request: SchedulingRequest, _ node: NodeInfo) -> Bool {
        for (key, value) in request.nodeSelector where node.labels[key] != value { return false }
        if let terms = request.requiredNodeTerms {
            return terms.contains { $0.matches(labels: node.labels, name: node.name) }
        }
        return true
    }

    static func hasPortConflict(_ wanted: Set<HostPort>, _ used: Set<HostPort>) -> Bool {
        wanted.contains { port in used.contains { $0.conflicts(with: port) } }
    }

    /// Every resource the node lacks, one reason each ("Insufficient cpu", "Too many pods").
    static func insufficientResources(_ requests: ResourceVector, _ node: NodeInfo) -> [String] {
        var reasons: [String] = []
        let free = node.allocatable - node.requested
        if requests.pods > free.pods { reasons.append("Too many pods") }
        if requests.milliCPU > 0, requests.milliCPU > free.milliCPU { reasons.append("Insufficient cpu") }
        if requests.memory > 0, requests.memory > free.memory { reasons.append("Insufficient memory") }
        for (name, amount) in requests.other.sorted(by: { $0.key < $1.key }) where amount > 0 && amount > (free.other[name] ?? 0) {
            reasons.append("Insufficient \(name)")
        }
        return reasons
    }

    static func podAffinityReason(_ request: SchedulingRequest, _ node: NodeInfo, _ context: AffinityContext) -> String? {
        for (key, value) in node.labels where context.forbiddenBySymmetry[.init(key: key, value: value)] != nil {
            return "node(s) didn't satisfy existing pods anti-affinity rules"
        }
        if !context.affinitySelfMatchOnly {
            for (index, term) in request.requiredAffinity.enumerated() {
                guard let value = node.labels[term.topologyKey], context.affinityDomains[index].contains(value) else {
                    return "node(s) didn't match pod affinity rules"
                }
            }
        }
        for (index, term) in request.requiredAntiAffinity.enumerated() {
            if let value = node.labels[term.topologyKey], context.antiAffinityDomains[index].contains(value) {
                return "node(s) didn't match pod anti-affinity rules"
            }
        }
        return nil
    }
}
