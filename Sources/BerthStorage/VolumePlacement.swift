import BerthCore

/// What a pod's claims demand of its node, for the scheduler: every bound volume's node
/// affinity, the node a ReadWriteOnce claim is already used on, and no second user of a
/// ReadWriteOncePod claim. The scheduler places the returned pod (its node affinity narrowed)
/// or leaves the pod waiting with the message. Pure.
public enum VolumePlacement {
    public enum Outcome: Sendable, Equatable {
        case unchanged
        case constrained(Pod)
        case wait(String)
    }

    public static func place(_ pod: Pod, claims: (String, String) -> PersistentVolumeClaim?, volume: (String) -> PersistentVolume?,
                             storageClass: (String) -> StorageClass?, users: (String, String) -> [Pod]) -> Outcome {
        let names = (pod.spec?.volumes ?? []).compactMap { $0.persistentVolumeClaim?.claimName }
        guard !names.isEmpty else { return .unchanged }
        let namespace = pod.metadata.namespace ?? "default"
        var required: [[NodeSelectorTerm]] = []
        for name in names {
            guard let claim = claims(namespace, name) else { return .wait("persistentvolumeclaim \"\(name)\" not found") }
            if claim.metadata.deletionTimestamp != nil { return .wait("persistentvolumeclaim \"\(name)\" is being deleted") }
            let others = users(namespace, name).filter { $0.metadata.uid != pod.metadata.uid && $0.metadata.deletionTimestamp == nil }
            let modes = Set(claim.spec?.accessModes ?? [])
            if modes.contains("ReadWriteOncePod"), !others.isEmpty {
                return .wait("node(s) unavailable due to one or more pods using ReadWriteOncePod PersistentVolumeClaim \"\(name)\" (pod \(others[0].metadata.name ?? ""))")
            }
            if modes == ["ReadWriteOnce"], let node = others.compactMap({ $0.spec?.nodeName }).first(where: { !$0.isEmpty }) {
                // A ReadWriteOnce volume is mounted on one node at a time.
                required.append([NodeSelectorTerm(matchFields: [NodeSelectorRequirement(key: "metadata.name", operator: "In", values: [node])])])
            }
            guard let volumeName = claim.spec?.volumeName, !volumeName.isEmpty else {
                let className = claim.spec?.storageClassName ?? ""
                if let storageClass = storageClass(className), storageClass.waitsForFirstConsumer { continue }
                return .wait("pod has unbound immediate PersistentVolumeClaims (\(name))")
            }
            guard let bound = volume(volumeName) else { return .wait("persistentvolume \"\(volumeName)\" not found") }
            if let terms = bound.spec?.nodeAffinity?.required?.nodeSelectorTerms, !terms.isEmpty { required.append(terms) }
        }
        guard !required.isEmpty else { return .unchanged }
        var constrained = pod
        var spec = constrained.spec ?? PodSpec(containers: [])
        var terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms
        for selector in required { terms = intersect(terms, selector) }
        var affinity = spec.affinity ?? (try! JSONValue.object([:]).decode(Affinity.self))
        var nodeAffinity = affinity.nodeAffinity ?? (try! JSONValue.object([:]).decode(NodeAffinity.self))
        nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = NodeSelector(nodeSelectorTerms: terms ?? [])
        affinity.nodeAffinity = nodeAffinity
        spec.affinity = affinity
        constrained.spec = spec
        return .constrained(constrained)
    }

    /// Both selectors must hold: terms are ORed within a selector, so the result is every pair
    /// of terms, each pair's requirements ANDed.
    static func intersect(_ left: [NodeSelectorTerm]?, _ right: [NodeSelectorTerm]) -> [NodeSelectorTerm] {
        guard let left else { return right }
        var result: [NodeSelectorTerm] = []
        for a in left {
            for b in right {
                let expressions = (a.matchExpressions ?? []) + (b.matchExpressions ?? [])
                let fields = (a.matchFields ?? []) + (b.matchFields ?? [])
                result.append(NodeSelectorTerm(matchExpressions: expressions.isEmpty ? nil : expressions, matchFields: fields.isEmpty ? nil : fields))
            }
        }
        return result
    }
}
