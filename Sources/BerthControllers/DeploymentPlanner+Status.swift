import BerthCore
import Foundation

extension DeploymentPlanner {
    /// Counts from the ReplicaSets' own status, and the `Available` and `Progressing`
    /// conditions `kubectl rollout status` reads.
    static func status(_ deployment: Deployment, newRS: ReplicaSet?, all: [ReplicaSet], progressed: Bool, now: Date) -> DeploymentStatus {
        let spec = deployment.spec
        let desired = spec?.replicas ?? 1
        let previous = deployment.status ?? DeploymentStatus()
        var status = DeploymentStatus()
        status.observedGeneration = deployment.metadata.generation
        status.collisionCount = previous.collisionCount
        let live = all.filter { $0.metadata.deletionTimestamp == nil }
        status.replicas = live.reduce(0) { $0 + ($1.status?.replicas ?? 0) }
        status.updatedReplicas = newRS.flatMap { rs in all.first { $0.metadata.uid == rs.metadata.uid }?.status?.replicas } ?? 0
        status.readyReplicas = live.reduce(0) { $0 + ($1.status?.readyReplicas ?? 0) }
        status.availableReplicas = live.reduce(0) { $0 + ($1.status?.availableReplicas ?? 0) }
        let specTotal = live.reduce(Int32(0)) { $0 + ($1.spec?.replicas ?? 0) }
        status.unavailableReplicas = max(0, specTotal - (status.availableReplicas ?? 0))
        status.terminatingReplicas = nil
        let stamp = TableCells.formatTimestamp(now)
        let (_, maxUnavailable) = surgeAndUnavailable(spec?.strategy?.type == "Recreate" ? RollingUpdateParameters(maxUnavailable: .int(Int(desired)), maxSurge: .int(0)) : spec?.strategy?.rollingUpdate, desired: desired)
        var conditions: [WorkloadCondition] = []
        let available = (status.availableReplicas ?? 0) >= desired - maxUnavailable
        conditions.append(condition(previous, type: "Available", status: available ? "True" : "False",
                                    reason: available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
                                    message: available ? "Deployment has minimum availability." : "Deployment does not have minimum availability.",
                                    stamp: stamp, touch: false))
        let rsName = newRS?.metadata.name ?? ""
        let complete = (status.updatedReplicas ?? 0) == desired && (status.replicas ?? 0) == desired && (status.availableReplicas ?? 0) >= desired
        let countsMoved = previous.replicas != status.replicas || previous.updatedReplicas != status.updatedReplicas
            || previous.readyReplicas != status.readyReplicas || previous.availableReplicas != status.availableReplicas
        let old = previous.conditions?.first { $0.type == "Progressing" }
        if spec?.paused == true {
            conditions.append(condition(previous, type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused", stamp: stamp, touch: false))
        } else if complete {
            conditions.append(condition(previous, type: "Progressing", status: "True", reason: "NewReplicaSetAvailable",
                                        message: "ReplicaSet \"\(rsName)\" has successfully progressed.", stamp: stamp, touch: old?.reason != "NewReplicaSetAvailable"))
        } else if progressed || countsMoved || old == nil || old?.reason == "NewReplicaSetAvailable" {
            conditions.append(condition(previous, type: "Progressing", status: "True", reason: "ReplicaSetUpdated",
                                        message: "ReplicaSet \"\(rsName)\" is progressing.", stamp: stamp, touch: true))
        } else if let old, old.reason == "ReplicaSetUpdated", let updated = TableCells.parseTimestamp(old.lastUpdateTime),
                  updated.addingTimeInterval(TimeInterval(spec?.progressDeadlineSeconds ?? 600)) < now {
            conditions.append(condition(previous, type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded",
                                        message: "ReplicaSet \"\(rsName)\" has timed out progressing.", stamp: stamp, touch: true))
        } else if let old {
            conditions.append(old)
        }
        status.conditions = conditions
        return status
    }

    /// Keeps the transition time while the status stays, and the update time unless `touch`.
    static func condition(_ previous: DeploymentStatus, type: String, status: String, reason: String, message: String, stamp: String, touch: Bool) -> WorkloadCondition {
        let old = previous.conditions?.first { $0.type == type }
        let transition = old?.status == status ? (old?.lastTransitionTime ?? stamp) : stamp
        let update = (touch || old?.reason != reason || old?.status != status) ? stamp : (old?.lastUpdateTime ?? stamp)
        return WorkloadCondition(type: type, status: status, lastUpdateTime: update, lastTransitionTime: transition, reason: reason, message: message)
    }
}
