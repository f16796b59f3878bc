import BerthClient
import BerthCore
import Foundation
import Logging

/// Rolls Deployments out through ReplicaSets: one per template revision, scaled by the
/// strategy, old ones kept up to `revisionHistoryLimit` for `kubectl rollout undo`.
public final class DeploymentController: Reconciler {
    public let name = "deployment"
    public let queue = WorkQueue(name: "deployment")
    let deployments: Informer<Deployment>
    let replicaSets: Informer<ReplicaSet>
    let api: ResourceAPI
    let logger: Logger

    public init(deployments: Informer<Deployment>, replicaSets: Informer<ReplicaSet>, api: ResourceAPI, logger: Logger) {
        self.deployments = deployments
        self.replicaSets = replicaSets
        self.api = api
        self.logger = logger
        deployments.addHandler { [queue] event in
            switch event {
            case .added(let object), .deleted(let object): queue.add(Informer<Deployment>.key(object))
            case .updated(let old, let new):
                if old.spec != new.spec || old.metadata.annotations != new.metadata.annotations || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp
                    || new.status?.observedGeneration != new.metadata.generation {
                    queue.add(Informer<Deployment>.key(new))
                }
            }
        }
        replicaSets.addHandler { [queue, deployments] event in
            if let orphan = OrphanEvents.adoptable(event) {
                let owners = deployments.selecting(namespace: orphan.metadata.namespace, labels: orphan.metadata.labels) { $0.spec?.selector }
                for deployment in owners { queue.add(Informer<Deployment>.key(deployment)) }
                return
            }
            let replicaSet: ReplicaSet
            var statusOnly = false
            switch event {
            case .added(let object), .deleted(let object): replicaSet = object
            case .updated(let old, let new):
                replicaSet = new
                statusOnly = old.spec == new.spec && old.metadata.annotations == new.metadata.annotations
                    && old.metadata.deletionTimestamp == new.metadata.deletionTimestamp && old.metadata.ownerReferences == new.metadata.ownerReferences
            }
            guard let owner = replicaSet.metadata.ownerReferences?.first(where: { $0.controller == true }), owner.kind == "Deployment" else { return }
            let key = Informer<Deployment>.key(namespace: replicaSet.metadata.namespace, name: owner.name)
            // A ReplicaSet's status moves with every pod; the Deployment follows in batches.
            if statusOnly { queue.addCoalesced(key, after: .milliseconds(200)) } else { queue.add(key) }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let deployment = deployments.get(key), let uid = deployment.metadata.uid else { return }
        let claims = ControllerRefClaims.claim(ownerDeleting: deployment.metadata.deletionTimestamp != nil,
                                               selector: (deployment.spec?.selector).flatMap { try? LabelSelector($0) },
                                               owned: replicaSets.owned(by: uid), orphans: replicaSets.orphans(in: deployment.metadata.namespace))
        let owned = claims.adopt.isEmpty && claims.release.isEmpty ? claims.kept
            : await api.carryOut(claims, .replicaSet, owner: .controller(deployment, kind: "Deployment"))
        let now = Date()
        let plan = DeploymentPlanner.plan(deployment, replicaSets: owned, now: now)
        if let create = plan.create {
            let failure = await createReplicaSet(create)
            if let failure {
                if failure.code == .alreadyExists {
                    // A ReplicaSet of that name with another template (a hash collision): bump
                    // the collision count so the next attempt picks another name.
                    var updated = deployment
                    updated.status = plan.status
                    updated.status?.collisionCount = (deployment.status?.collisionCount ?? 0) + 1
                    try await api.update(ResourceDescriptor.deployment, updated, subresource: "status")
                }
                throw failure
            }
        }
        for replicaSet in plan.update { try await api.update(ResourceDescriptor.replicaSet, replicaSet) }
        let reference = ObjectReferenceValue(kind: "Deployment", apiVersion: "apps/v1", namespace: deployment.metadata.namespace,
                                             name: deployment.metadata.name ?? "", uid: uid)
        for message in plan.scalingMessages(from: owned) {
            await api.event(about: reference, reason: "ScalingReplicaSet", message: message, component: "deployment-controller")
        }
        for replicaSet in plan.delete {
            try await api.delete(ResourceDescriptor.replicaSet, namespace: replicaSet.metadata.namespace, name: replicaSet.metadata.name ?? "", uid: replicaSet.metadata.uid)
        }
        var current = deployment
        if let revision = plan.revisionAnnotation {
            current.metadata.annotations = (current.metadata.annotations ?? [:]).merging([DeploymentRevisions.revisionAnnotation: revision]) { $1 }
            current = try await api.updateReturning(ResourceDescriptor.deployment, current)
        }
        if current.status != plan.status {
            current.status = plan.status
            try await api.update(ResourceDescriptor.deployment, current, subresource: "status")
        }
        if let recheck = plan.recheckAt {
            queue.add(key, after: .milliseconds(Int64(max(0, recheck.timeIntervalSince(now)) * 1000)))
        }
    }

    private func createReplicaSet(_ replicaSet: ReplicaSet) async -> BerthError? {
        do {
            try await api.create(ResourceDescriptor.replicaSet, namespace: replicaSet.metadata.namespace, replicaSet)
            return nil
        } catch {
            return error
        }
    }
}
