/// Where in the topology the pods that the new pod's (anti-)affinity terms select already run,
/// and where existing pods' anti-affinity forbids it, gathered in one pass over placed pods.
struct AffinityContext {
    /// Per required affinity term: topology values that hold a matching pod.
    var affinityDomains: [Set<String>] = []
    /// True when no placed pod matches any required affinity term but the new pod matches its
    /// own terms: the first pod of a co-located group may go anywhere (Kubernetes does the same).
    var affinitySelfMatchOnly = false
    /// Per required anti-affinity term: topology values that hold a matching pod.
    var antiAffinityDomains: [Set<String>] = []
    /// Topology pairs (key, value) where an existing pod's anti-affinity rejects the new pod.
    var forbiddenBySymmetry: [TopologyPair: Void] = [:]
    /// Per preferred term (affinity first, then anti-affinity): matching pods per topology value.
    var preferredCounts: [[String: Int]] = []

    struct TopologyPair: Hashable {
        let key: String
        let value: String
    }

    var isEmpty: Bool {
        affinityDomains.isEmpty && antiAffinityDomains.isEmpty && forbiddenBySymmetry.isEmpty && preferredCounts.isEmpty
    }

    init() {}

    init(request: SchedulingRequest, snapshot: SchedulingSnapshot) {
        let checkSymmetry = snapshot.podsWithAntiAffinity > 0
        guard request.hasPodAffinity || checkSymmetry else { return }
        affinityDomains = Array(repeating: [], count: request.requiredAffinity.count)
        antiAffinityDomains = Array(repeating: [], count: request.requiredAntiAffinity.count)
        let preferred = request.preferredAffinity.map(\.term) + request.preferredAntiAffinity.map(\.term)
        preferredCounts = Array(repeating: [:], count: preferred.count)
        let incoming = request.summary
        let namespaceLabels = snapshot.namespaceLabels
        for node in snapshot.nodes {
            for pod in node.pods where pod.uid != incoming.uid {
                for (index, term) in request.requiredAffinity.enumerated() where term.matches(pod, namespaceLabels) {
                    if let value = node.labels[term.topologyKey] { affinityDomains[index].insert(value) }
                }
                for (index, term) in request.requiredAntiAffinity.enumerated() where term.matches(pod, namespaceLabels) {
                    if let value = node.labels[term.topologyKey] { antiAffinityDomains[index].insert(value) }
                }
                for (index, term) in preferred.enumerated() where term.matches(pod, namespaceLabels) {
                    if let value = node.labels[term.topologyKey] { preferredCounts[index][value, default: 0] += 1 }
                }
                guard checkSymmetry, !pod.requiredAntiAffinity.isEmpty else { continue }
                for raw in pod.requiredAntiAffinity {
                    let term = AffinityTerm(raw, podNamespace: pod.namespace)
                    if term.matches(incoming, namespaceLabels), let value = node.labels[term.topologyKey] {
                        forbiddenBySymmetry[TopologyPair(key: term.topologyKey, value: value)] = ()
                    }
                }
            }
        }
        if !request.requiredAffinity.isEmpty, affinityDomains.allSatisfy(\.isEmpty) {
            affinitySelfMatchOnly = request.requiredAffinity.allSatisfy { $0.matches(incoming, namespaceLabels) }
        }
    }
}
