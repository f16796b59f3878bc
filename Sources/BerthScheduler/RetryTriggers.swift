import BerthCore

/// Which cluster changes are worth another attempt at the pods that fit nowhere, before their
/// backoff runs out. Every waiting pod is tried again over every node, so a trigger that fires
/// on changes that cannot help turns into a storm: with a thousand nodes losing their Leases at
/// once (each a Ready change) and their pods being evicted (each a deletion), thousands of
/// waiting pods were re-examined a thousand times over, the server spent its CPU on that, fell
/// further behind on the Lease renewals and never recovered. Like kube-scheduler's queueing
/// hints, only a change in the direction of more room counts; the backoff timer covers the rest.
public enum RetryTriggers {
    /// A node that changed may now take a pod it refused: it became Ready or schedulable, lost a
    /// taint that keeps pods off, or changed its labels or what it can give.
    public static func nodeUpdateMayHelp(old: Node, new: Node) -> Bool {
        if readyStatus(old) != "True" && readyStatus(new) == "True" { return true }
        if (old.spec?.unschedulable ?? false) && !(new.spec?.unschedulable ?? false) { return true }
        let remaining = Set(blockingTaints(new))
        if blockingTaints(old).contains(where: { !remaining.contains($0) }) { return true }
        return old.metadata.labels != new.metadata.labels || old.status?.allocatable != new.status?.allocatable
    }

    /// Room a deleted pod gave back counts only on a node pods may land on: the pods evicted
    /// from a lost node free nothing anyone can use.
    public static func freedRoomIsUsable(on node: NodeInfo) -> Bool {
        !node.unschedulable && !node.taints.contains { $0.key == TaintKeys.notReady || $0.key == TaintKeys.unreachable }
    }

    static func readyStatus(_ node: Node) -> String? {
        node.status?.conditions?.first { $0.type == "Ready" }?.status
    }

    /// A taint's identity without the time it was added.
    struct TaintIdentity: Hashable {
        let key: String
        let value: String
        let effect: String
    }

    static func blockingTaints(_ node: Node) -> [TaintIdentity] {
        (node.spec?.taints ?? []).compactMap { taint in
            taint.effect == "NoSchedule" || taint.effect == "NoExecute" ? TaintIdentity(key: taint.key, value: taint.value ?? "", effect: taint.effect) : nil
        }
    }
}
