import BerthCore
import Foundation

/// What a Deployment needs done to its ReplicaSets, computed from the Deployment and the
/// ReplicaSets it owns (pure, so tests can drive a rollout step by step with a manual clock).
public struct DeploymentPlan: Sendable, Equatable {
    /// A ReplicaSet to create for the current template.
    public var create: ReplicaSet?
    /// Existing ReplicaSets with new `spec.replicas` or annotations, to PUT.
    public var update: [ReplicaSet] = []
    /// Old, scaled-down ReplicaSets beyond `revisionHistoryLimit`.
    public var delete: [ReplicaSet] = []
    /// The Deployment's revision annotation, when it must change.
    public var revisionAnnotation: String?
    public var status: DeploymentStatus
    /// When to look again although nothing changes (progress deadline).
    public var recheckAt: Date?

    public var changesReplicaSets: Bool { create != nil || !update.isEmpty }

    /// The `ScalingReplicaSet` events this plan makes, worded as Kubernetes' deployment
    /// controller words them ("Scaled up replica set web-5d8c8 from 0 to 3").
    public func scalingMessages(from replicaSets: [ReplicaSet]) -> [String] {
        var changes: [(name: String, from: Int32, to: Int32)] = []
        if let create, let wanted = create.spec?.replicas, wanted > 0 { changes.append((create.metadata.name ?? "", 0, wanted)) }
        for replicaSet in update {
            guard let before = replicaSets.first(where: { $0.metadata.uid == replicaSet.metadata.uid }) else { continue }
            let from = before.spec?.replicas ?? 1, to = replicaSet.spec?.replicas ?? 1
            if from != to { changes.append((replicaSet.metadata.name ?? "", from, to)) }
        }
        return changes.map { "Scaled \($0.to > $0.from ? "up" : "down") replica set \($0.name) from \($0.from) to \($0.to)" }
    }
}

public enum DeploymentPlanner {
    public static func plan(_ deployment: Deployment, replicaSets: [ReplicaSet], now: Date) -> DeploymentPlan {
        guard let spec = deployment.spec else { return DeploymentPlan(status: deployment.status ?? DeploymentStatus()) }
        let desired = spec.replicas ?? 1
        var newRS = replicaSets.filter { DeploymentRevisions.sameTemplate($0, spec.template) }
            .max { DeploymentRevisions.revision($0) < DeploymentRevisions.revision($1) }
        var olds = replicaSets.filter { $0.metadata.uid != newRS?.metadata.uid }
        let maxOldRevision = olds.map(DeploymentRevisions.revision).max() ?? 0
        var plan = DeploymentPlan(status: deployment.status ?? DeploymentStatus())
        let deleting = deployment.metadata.deletionTimestamp != nil
        if !(spec.paused ?? false) && !deleting {
            if newRS == nil {
                newRS = makeReplicaSet(deployment, revision: maxOldRevision + 1)
            } else if var existing = newRS, DeploymentRevisions.revision(existing) <= maxOldRevision {
                // A rollback to an older template reuses its ReplicaSet under a new revision.
                existing.metadata.annotations?[DeploymentRevisions.revisionAnnotation] = String(maxOldRevision + 1)
                if existing.metadata.annotations == nil { existing.metadata.annotations = [DeploymentRevisions.revisionAnnotation: String(maxOldRevision + 1)] }
                newRS = existing
            }
            if var candidate = newRS {
                let cause = deployment.metadata.annotations?[DeploymentRevisions.changeCauseAnnotation]
                if let cause, candidate.metadata.annotations?[DeploymentRevisions.changeCauseAnnotation] != cause {
                    candidate.metadata.annotations?[DeploymentRevisions.changeCauseAnnotation] = cause
                }
                newRS = candidate
            }
            if spec.strategy?.type == "Recreate" {
                recreate(desired: desired, newRS: &newRS, olds: &olds)
            } else {
                rollingUpdate(spec: spec, desired: desired, newRS: &newRS, olds: &olds)
            }
            if let newRS {
                if newRS.metadata.uid == nil {
                    plan.create = newRS
                } else if let original = replicaSets.first(where: { $0.metadata.uid == newRS.metadata.uid }), original != newRS {
                    plan.update.append(newRS)
                }
            }
            for old in olds {
                if let original = replicaSets.first(where: { $0.metadata.uid == old.metadata.uid }), original != old { plan.update.append(old) }
            }
            plan.delete = historyToDelete(olds, limit: Int(spec.revisionHistoryLimit ?? 10))
            if let revision = newRS.map(DeploymentRevisions.revision), deployment.metadata.annotations?[DeploymentRevisions.revisionAnnotation] != String(revision) {
                plan.revisionAnnotation = String(revision)
            }
        }
        plan.status = status(deployment, newRS: newRS, all: replicaSets, progressed: plan.changesReplicaSets, now: now)
        if let progressing = plan.status.conditions?.first(where: { $0.type == "Progressing" }), progressing.reason == "ReplicaSetUpdated",
           let updated = TableCells.parseTimestamp(progressing.lastUpdateTime) {
            plan.recheckAt = updated.addingTimeInterval(TimeInterval(spec.progressDeadlineSeconds ?? 600) + 1)
        }
        return plan
    }

    static func makeReplicaSet(_ deployment: Deployment, revision: Int64) -> ReplicaSet {
        let spec = deployment.spec!
        let hash = DeploymentRevisions.templateHash(spec.template, collisionCount: deployment.status?.collisionCount)
        var template = spec.template
        template.metadata = template.metadata ?? ObjectMeta()
        let labels = (template.metadata?.labels ?? [:]).merging([DeploymentRevisions.hashLabel: hash]) { $1 }
        template.metadata?.labels = labels
        var selector = spec.selector
        selector.matchLabels = (selector.matchLabels ?? [:]).merging([DeploymentRevisions.hashLabel: hash]) { $1 }
        let name = "\(deployment.metadata.name ?? "deployment")-\(hash)"
        var annotations = [DeploymentRevisions.revisionAnnotation: String(revision), "deployment.kubernetes.io/desired-replicas": String(spec.replicas ?? 1)]
        if let cause = deployment.metadata.annotations?[DeploymentRevisions.changeCauseAnnotation] { annotations[DeploymentRevisions.changeCauseAnnotation] = cause }
        var metadata = ObjectMeta(name: name, namespace: deployment.metadata.namespace, labels: template.metadata?.labels, annotations: annotations)
        metadata.ownerReferences = [.controller(deployment, kind: "Deployment")]
        return ReplicaSet(metadata: metadata, spec: ReplicaSetSpec(replicas: 0, minReadySeconds: spec.minReadySeconds, selector: selector, template: template))
    }

    /// Scale the old ReplicaSets to zero; only when none of their pods is left, scale up the new.
    static func recreate(desired: Int32, newRS: inout ReplicaSet?, olds: inout [ReplicaSet]) {
        var oldPodsRemain = false
        for index in olds.indices {
            if (olds[index].spec?.replicas ?? 0) > 0 { olds[index].spec?.replicas = 0 }
            if (olds[index].status?.replicas ?? 0) > 0 || olds[index].metadata.uid == nil { oldPodsRemain = true }
        }
        if !oldPodsRemain { newRS?.spec?.replicas = desired }
    }

    /// One step of a rolling update: scale the new ReplicaSet up within `maxSurge`, then the old
    /// ones down as far as `maxUnavailable` allows, unavailable old pods first.
    static func rollingUpdate(spec: DeploymentSpec, desired: Int32, newRS: inout ReplicaSet?, olds: inout [ReplicaSet]) {
        let (maxSurge, maxUnavailable) = surgeAndUnavailable(spec.strategy?.rollingUpdate, desired: desired)
        guard var new = newRS else { return }
        var newReplicas = new.spec?.replicas ?? 0
        let oldTotal = olds.reduce(Int32(0)) { $0 + ($1.spec?.replicas ?? 0) }
        if newReplicas > desired {
            newReplicas = desired
        } else if newReplicas < desired {
            let room = desired + maxSurge - (oldTotal + newReplicas)
            if room > 0 { newReplicas += min(room, desired - newReplicas) }
        }
        new.spec?.replicas = newReplicas
        newRS = new
        guard oldTotal > 0 else { return }
        let minAvailable = desired - maxUnavailable
        let newUnavailable = max(0, newReplicas - (new.status?.availableReplicas ?? 0))
        var allowed = (oldTotal + newReplicas) - minAvailable - newUnavailable
        guard allowed > 0 else { return }
        // Unhealthy old pods first: removing them costs no availability.
        let order = olds.indices.sorted { DeploymentRevisions.revision(olds[$0]) < DeploymentRevisions.revision(olds[$1]) }
        for index in order where allowed > 0 {
            let replicas = olds[index].spec?.replicas ?? 0
            let unhealthy = max(0, replicas - (olds[index].status?.availableReplicas ?? 0))
            let cut = min(unhealthy, allowed)
            if cut > 0 {
                olds[index].spec?.replicas = replicas - cut
                allowed -= cut
            }
        }
        // Then available ones, as long as enough stay available overall.
        let available = olds.reduce(Int32(0)) { $0 + min($1.spec?.replicas ?? 0, $1.status?.availableReplicas ?? 0) } + (new.status?.availableReplicas ?? 0)
        var budget = min(allowed, available - minAvailable)
        for index in order where budget > 0 {
            let replicas = olds[index].spec?.replicas ?? 0
            let cut = min(replicas, budget)
            if cut > 0 {
                olds[index].spec?.replicas = replicas - cut
                budget -= cut
            }
        }
    }

    /// `maxSurge` rounds up, `maxUnavailable` down; both zero would deadlock, so then one pod
    /// may be unavailable.
    public static func surgeAndUnavailable(_ parameters: RollingUpdateParameters?, desired: Int32) -> (Int32, Int32) {
        let surge = resolve(parameters?.maxSurge ?? .string("25%"), of: desired, roundUp: true)
        var unavailable = resolve(parameters?.maxUnavailable ?? .string("25%"), of: desired, roundUp: false)
        if surge == 0 && unavailable == 0 { unavailable = 1 }
        return (surge, min(unavailable, desired))
    }

    static func resolve(_ value: IntOrString, of total: Int32, roundUp: Bool) -> Int32 {
        switch value {
        case .int(let number): return Int32(number)
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Double(text.dropLast()) else { return Int32(text) ?? 0 }
            let exact = Double(total) * percent / 100
            return Int32(roundUp ? exact.rounded(.up) : exact.rounded(.down))
        }
    }

    static func historyToDelete(_ olds: [ReplicaSet], limit: Int) -> [ReplicaSet] {
        let idle = olds.filter { $0.metadata.uid != nil && ($0.spec?.replicas ?? 0) == 0 && ($0.status?.replicas ?? 0) == 0 && $0.metadata.deletionTimestamp == nil }
        guard idle.count > limit else { return [] }
        return Array(idle.sorted { DeploymentRevisions.revision($0) < DeploymentRevisions.revision($1) }.prefix(idle.count - limit))
    }
}
