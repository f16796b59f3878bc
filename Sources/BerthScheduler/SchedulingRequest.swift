import BerthCore

/// Everything about the pod being placed that the filters and scores read, worked out once per
/// decision instead of once per node.
struct SchedulingRequest {
    let summary: PodSummary
    let nodeSelector: [String: String]
    let requiredNodeTerms: [NodeSelectorTerm]?
    let preferredNodeTerms: [PreferredSchedulingTerm]
    let tolerations: [Toleration]
    let requiredAffinity: [AffinityTerm]
    let requiredAntiAffinity: [AffinityTerm]
    let preferredAffinity: [(weight: Int, term: AffinityTerm)]
    let preferredAntiAffinity: [(weight: Int, term: AffinityTerm)]
    let images: [String]
    let spread: [SpreadConstraint]

    init(_ pod: Pod) {
        summary = PodSummary(pod)
        let spec = pod.spec
        nodeSelector = spec?.nodeSelector ?? [:]
        requiredNodeTerms = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
        preferredNodeTerms = spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []
        tolerations = spec?.tolerations ?? []
        let namespace = summary.namespace
        let affinity = spec?.affinity
        requiredAffinity = (affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map { AffinityTerm($0, podNamespace: namespace) }
        requiredAntiAffinity = (affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map { AffinityTerm($0, podNamespace: namespace) }
        preferredAffinity = (affinity?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map {
            (Int($0.weight), AffinityTerm($0.podAffinityTerm, podNamespace: namespace))
        }
        preferredAntiAffinity = (affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map {
            (Int($0.weight), AffinityTerm($0.podAffinityTerm, podNamespace: namespace))
        }
        images = (spec?.containers ?? []).compactMap(\.image)
        let labels = summary.labels
        spread = (spec?.topologySpreadConstraints ?? []).map { SpreadConstraint($0, podLabels: labels) }
    }

    /// Nothing but resources and spreading to decide: the fast path over `NodeHot` applies.
    var isSimple: Bool {
        nodeSelector.isEmpty && requiredNodeTerms == nil && preferredNodeTerms.isEmpty && summary.hostPorts.isEmpty
            && summary.requests.other.isEmpty && tolerations.isEmpty && !hasPodAffinity && spread.isEmpty
    }

    var hasPodAffinity: Bool {
        !requiredAffinity.isEmpty || !requiredAntiAffinity.isEmpty || !preferredAffinity.isEmpty || !preferredAntiAffinity.isEmpty
    }
}

/// A pod (anti-)affinity term with its selector parsed and its namespaces worked out: the
/// `namespaces` list and the namespaces `namespaceSelector` selects (an empty selector: all of
/// them); neither given means the pod's own namespace.
struct AffinityTerm {
    let selector: LabelSelector?
    let namespaces: Set<String>
    let namespaceSelector: LabelSelector?
    let topologyKey: String

    init(_ term: PodAffinityTerm, podNamespace: String) {
        selector = term.labelSelector.flatMap { try? LabelSelector($0) }
        let listed = Set(term.namespaces ?? [])
        // A selector that does not parse selects nothing (the API refuses such terms).
        namespaceSelector = term.namespaceSelector.flatMap { try? LabelSelector($0) }
        namespaces = listed.isEmpty && term.namespaceSelector == nil ? [podNamespace] : listed
        topologyKey = term.topologyKey
    }

    /// A nil selector matches nothing, as in Kubernetes. `namespaceLabels` holds each
    /// namespace's labels, for `namespaceSelector`.
    func matches(_ pod: PodSummary, _ namespaceLabels: [String: [String: String]]) -> Bool {
        guard let selector, selector.matches(pod.labels) else { return false }
        if namespaces.contains(pod.namespace) { return true }
        guard let namespaceSelector else { return false }
        return namespaceSelector.requirements.isEmpty || namespaceSelector.matches(namespaceLabels[pod.namespace] ?? [:])
    }
}

extension Toleration {
    /// Kubernetes' `ToleratesTaint`: an empty effect tolerates every effect; `Exists` ignores the
    /// value, and an empty key with `Exists` tolerates every taint.
    func tolerates(_ taint: Taint) -> Bool {
        if let effect, !effect.isEmpty, effect != taint.effect { return false }
        let key = self.key ?? ""
        if key.isEmpty { return self.operator == "Exists" }
        guard key == taint.key else { return false }
        switch self.operator ?? "Equal" {
        case "Exists": return true
        case "Equal": return (value ?? "") == (taint.value ?? "")
        default: return false
        }
    }
}

extension NodeSelectorTerm {
    /// All expressions of a term must hold; a term without any matches no node.
    func matches(labels: [String: String], name: String) -> Bool {
        let expressions = matchExpressions ?? []
        let fields = matchFields ?? []
        if expressions.isEmpty && fields.isEmpty { return false }
        return expressions.allSatisfy { $0.matches(labels[$0.key]) }
            && fields.allSatisfy { $0.key == "metadata.name" && $0.matches(name) }
    }
}

extension NodeSelectorRequirement {
    func matches(_ value: String?) -> Bool {
        let values = self.values ?? []
        switch self.operator {
        case "In": return value.map(values.contains) ?? false
        case "NotIn": return value.map { !values.contains($0) } ?? true
        case "Exists": return value != nil
        case "DoesNotExist": return value == nil
        case "Gt":
            guard let value, let left = Int64(value), let right = values.first.flatMap(Int64.init) else { return false }
            return left > right
        case "Lt":
            guard let value, let left = Int64(value), let right = values.first.flatMap(Int64.init) else { return false }
            return left < right
        default: return false
        }
    }
}
