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

/// A pod (anti-)affinity term with its selector parsed and its namespaces resolved.
struct AffinityTerm {
    let selector: LabelSelector?
    /// nil means every namespace (an empty `namespaceSelector`).
    let namespaces: Set<String>?
    let topologyKey: String

    init(_ term: PodAffinityTerm, podNamespace: String) {
        selector = term.labelSelector.flatMap { try? LabelSelector($0) }
        if let list = term.namespaces, !list.isEmpty {
            namespaces = Set(list)
        } else if term.namespaceSelector != nil {
            // Only the empty selector ("all namespaces") is understood; see the scheduler notes.
            namespaces = nil
        } else {
            namespaces = [podNamespace]
        }
        topologyKey = term.topologyKey
    }

    /// A nil selector matches nothing, as in Kubernetes.
    func matches(_ pod: PodSummary) -> Bool {
        guard let selector else { return false }
        if let namespaces, !namespaces.contains(pod.namespace) { return false }
        return selector.matches(pod.labels)
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
