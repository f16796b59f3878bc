import BerthCore
import Foundation

/// Pod facts the workload controllers decide on, as Kubernetes' controller utilities define them.
public enum PodState {
    /// Counts toward a ReplicaSet's replicas: not finished and not being deleted.
    public static func isActive(_ pod: Pod) -> Bool {
        pod.metadata.deletionTimestamp == nil && !isTerminal(pod)
    }

    public static func isTerminal(_ pod: Pod) -> Bool {
        pod.status?.phase == "Succeeded" || pod.status?.phase == "Failed"
    }

    public static func readyCondition(_ pod: Pod) -> PodCondition? {
        pod.status?.conditions?.first { $0.type == "Ready" }
    }

    public static func isReady(_ pod: Pod) -> Bool { readyCondition(pod)?.status == "True" }

    /// Ready for at least `minReadySeconds`.
    public static func isAvailable(_ pod: Pod, minReadySeconds: Int32, now: Date) -> Bool {
        guard let condition = readyCondition(pod), condition.status == "True" else { return false }
        guard minReadySeconds > 0 else { return true }
        guard let since = TableCells.parseTimestamp(condition.lastTransitionTime) else { return false }
        return since.addingTimeInterval(TimeInterval(minReadySeconds)) <= now
    }

    /// When an available-but-not-yet pod becomes available, so a controller can look again then.
    public static func becomesAvailable(_ pod: Pod, minReadySeconds: Int32) -> Date? {
        guard minReadySeconds > 0, let condition = readyCondition(pod), condition.status == "True",
              let since = TableCells.parseTimestamp(condition.lastTransitionTime) else { return nil }
        return since.addingTimeInterval(TimeInterval(minReadySeconds))
    }

    /// Order for choosing which pods to delete when scaling down (first = delete first):
    /// unscheduled, then pending, then not ready, then more restarts, then newest.
    public static func deletionOrder(_ lhs: Pod, _ rhs: Pod) -> Bool {
        let lhsNode = lhs.spec?.nodeName?.isEmpty == false, rhsNode = rhs.spec?.nodeName?.isEmpty == false
        if lhsNode != rhsNode { return !lhsNode }
        let lhsRunning = lhs.status?.phase == "Running", rhsRunning = rhs.status?.phase == "Running"
        if lhsRunning != rhsRunning { return !lhsRunning }
        let lhsReady = isReady(lhs), rhsReady = isReady(rhs)
        if lhsReady != rhsReady { return !lhsReady }
        let lhsRestarts = restarts(lhs), rhsRestarts = restarts(rhs)
        if lhsRestarts != rhsRestarts { return lhsRestarts > rhsRestarts }
        let lhsCreated = lhs.metadata.creationTimestamp ?? "", rhsCreated = rhs.metadata.creationTimestamp ?? ""
        if lhsCreated != rhsCreated { return lhsCreated > rhsCreated }
        return (lhs.metadata.name ?? "") > (rhs.metadata.name ?? "")
    }

    static func restarts(_ pod: Pod) -> Int32 {
        (pod.status?.containerStatuses ?? []).reduce(0) { $0 + $1.restartCount }
    }

    public static func controllerUID(_ meta: ObjectMeta) -> String? {
        meta.ownerReferences?.first { $0.controller == true }?.uid
    }
}
