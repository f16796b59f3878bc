import BerthCore

/// Revision bookkeeping shared by the Deployment planner and `rollout` tooling: the
/// `pod-template-hash` that names a template's ReplicaSet and the revision annotation.
public enum DeploymentRevisions {
    public static let hashLabel = "pod-template-hash"
    public static let revisionAnnotation = "deployment.kubernetes.io/revision"
    public static let changeCauseAnnotation = "kubernetes.io/change-cause"

    public static func revision(_ replicaSet: ReplicaSet) -> Int64 {
        Int64(replicaSet.metadata.annotations?[revisionAnnotation] ?? "") ?? 0
    }

    /// FNV-1a over the template's canonical JSON (and the collision count), spelled with
    /// Kubernetes' safe alphabet, so names never form words or look like numbers.
    public static func templateHash(_ template: PodTemplateSpec, collisionCount: Int32?) -> String {
        var hash = SafeNames.fnv1a((try? JSONValue(encoding: template)).map(JSONWriter.bytes) ?? [])
        if let collisionCount { hash = SafeNames.fnv1a(String(collisionCount).utf8, continuing: hash) }
        return String(String(hash).utf8.map { SafeNames.alphabet[Int($0) % SafeNames.alphabet.count] })
    }

    /// Templates equal once the hash label is ignored, and false flags taken as absent (as
    /// Kubernetes' Go types see them; ReplicaSets stored before admission dropped them may
    /// still carry them).
    public static func sameTemplate(_ replicaSet: ReplicaSet, _ template: PodTemplateSpec) -> Bool {
        guard var candidate = replicaSet.spec?.template else { return false }
        var wanted = template
        if candidate.spec != nil { Defaults.dropFalseFlags(&candidate.spec!) }
        if wanted.spec != nil { Defaults.dropFalseFlags(&wanted.spec!) }
        candidate.metadata?.labels?[hashLabel] = nil
        wanted.metadata?.labels?[hashLabel] = nil
        if candidate.metadata?.labels?.isEmpty == true { candidate.metadata?.labels = nil }
        if wanted.metadata?.labels?.isEmpty == true { wanted.metadata?.labels = nil }
        return candidate == wanted
    }
}
