import BerthCore
import Foundation

/// What a ReplicaSet needs done, computed from its pods alone (pure, so tests step it by hand).
public struct ReplicaSetPlan: Sendable, Equatable {
    public var podsToCreate = 0
    public var podsToDelete: [Pod] = []
    public var status: ReplicaSetStatus
    /// When a pod becomes available (minReadySeconds), so the status is recomputed then.
    public var recheckAt: Date?
}

public enum ReplicaSetPlanner {
    /// `pods` are the pods this ReplicaSet controls. `mayChangePods` is false while earlier
    /// creations or deletions are not yet visible; the plan then only reports status.
    public static func plan(_ replicaSet: ReplicaSet, pods: [Pod], now: Date, mayChangePods: Bool = true) -> ReplicaSetPlan {
        let desired = Int(replicaSet.spec?.replicas ?? 1)
        let minReady = replicaSet.spec?.minReadySeconds ?? 0
        let active = pods.filter(PodState.isActive)
        let templateLabels = replicaSet.spec?.template?.metadata?.labels ?? [:]
        let status = ReplicaSetStatus(
            replicas: Int32(active.count),
            fullyLabeledReplicas: Int32(active.filter { pod in templateLabels.allSatisfy { pod.metadata.labels?[$0.key] == $0.value } }.count),
            readyReplicas: Int32(active.filter(PodState.isReady).count),
            availableReplicas: Int32(active.filter { PodState.isAvailable($0, minReadySeconds: minReady, now: now) }.count),
            terminatingReplicas: Int32(pods.filter { $0.metadata.deletionTimestamp != nil && !PodState.isTerminal($0) }.count),
            observedGeneration: replicaSet.metadata.generation,
            conditions: replicaSet.status?.conditions)
        var plan = ReplicaSetPlan(status: status)
        plan.recheckAt = active.compactMap { PodState.becomesAvailable($0, minReadySeconds: minReady) }.filter { $0 > now }.min()
        guard mayChangePods, replicaSet.metadata.deletionTimestamp == nil else { return plan }
        let difference = active.count - desired
        if difference < 0 {
            plan.podsToCreate = -difference
        } else if difference > 0 {
            plan.podsToDelete = Array(active.sorted(by: PodState.deletionOrder).prefix(difference))
        }
        return plan
    }

    /// A pod from the ReplicaSet's template, owned by it; the server picks the name suffix.
    public static func newPod(for replicaSet: ReplicaSet) -> Pod {
        let name = replicaSet.metadata.name ?? "replicaset"
        let template = replicaSet.spec?.template
        var metadata = ObjectMeta(namespace: replicaSet.metadata.namespace, labels: template?.metadata?.labels, annotations: template?.metadata?.annotations)
        metadata.generateName = name + "-"
        metadata.finalizers = template?.metadata?.finalizers
        metadata.ownerReferences = [.controller(replicaSet, kind: "ReplicaSet")]
        return Pod(metadata: metadata, spec: template?.spec)
    }

}
