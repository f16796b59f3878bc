import BerthClient
import BerthCore
import Foundation
import Logging

/// Keeps each ReplicaSet's number of active pods at `spec.replicas` and reports its status.
public final class ReplicaSetController: Reconciler {
    public let name = "replicaset"
    public let queue = WorkQueue(name: "replicaset")
    public var workers: Int { 8 }
    let replicaSets: Informer<ReplicaSet>
    let pods: Informer<Pod>
    let api: ResourceAPI
    let expectations = Expectations()
    let logger: Logger

    public init(replicaSets: Informer<ReplicaSet>, pods: Informer<Pod>, api: ResourceAPI, logger: Logger) {
        self.replicaSets = replicaSets
        self.pods = pods
        self.api = api
        self.logger = logger
        replicaSets.addHandler { [queue] event in
            switch event {
            case .added(let object), .deleted(let object): queue.add(Informer<ReplicaSet>.key(object))
            case .updated(let old, let new):
                // Status writes of our own come back as updates; only spec and metadata matter.
                if old.spec != new.spec || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp || old.status?.observedGeneration != new.metadata.generation {
                    queue.add(Informer<ReplicaSet>.key(new))
                }
            }
        }
        pods.addHandler { [queue, expectations, replicaSets] event in
            // An orphan that appears or changes its labels may be some ReplicaSet's to adopt.
            if let orphan = OrphanEvents.adoptable(event) {
                let owners = replicaSets.selecting(namespace: orphan.metadata.namespace, labels: orphan.metadata.labels) { $0.spec?.selector }
                for replicaSet in owners { queue.add(Informer<ReplicaSet>.key(replicaSet)) }
                return
            }
            guard let key = Self.ownerKey(event.object) else { return }
            expectations.observe(event, for: key)
            switch event {
            case .added, .deleted:
                queue.add(key)
            case .updated(let old, let new):
                if old.metadata.deletionTimestamp != new.metadata.deletionTimestamp || old.metadata.labels != new.metadata.labels {
                    queue.add(key)
                } else if old.status != new.status {
                    // Status only (scheduled, started, Ready): counts for our status, batched.
                    queue.addCoalesced(key, after: .milliseconds(200))
                }
            }
        }
    }

    static func ownerKey(_ pod: Pod) -> String? {
        guard let owner = pod.metadata.ownerReferences?.first(where: { $0.controller == true }), owner.kind == "ReplicaSet" else { return nil }
        return Informer<ReplicaSet>.key(namespace: pod.metadata.namespace, name: owner.name)
    }

    public func reconcile(_ key: String) async throws {
        guard let replicaSet = replicaSets.get(key), let uid = replicaSet.metadata.uid else {
            expectations.forget(key)
            return
        }
        let claims = ControllerRefClaims.claim(ownerDeleting: replicaSet.metadata.deletionTimestamp != nil,
                                               selector: (replicaSet.spec?.selector).flatMap { try? LabelSelector($0) },
                                               owned: pods.owned(by: uid), orphans: pods.orphans(in: replicaSet.metadata.namespace))
        let owned = claims.adopt.isEmpty && claims.release.isEmpty ? claims.kept
            : await api.carryOut(claims, .pod, owner: .controller(replicaSet, kind: "ReplicaSet"))
        let now = Date()
        let plan = ReplicaSetPlanner.plan(replicaSet, pods: owned, now: now, mayChangePods: expectations.satisfied(key))
        if plan.podsToCreate > 0 || !plan.podsToDelete.isEmpty {
            expectations.expect(key, adds: plan.podsToCreate, deletes: Set(plan.podsToDelete.compactMap(\.metadata.uid)))
        }
        var failure: (any Error)?
        if plan.podsToCreate > 0 { failure = await createPods(replicaSet, count: plan.podsToCreate, key: key) }
        if !plan.podsToDelete.isEmpty { failure = await deletePods(plan.podsToDelete, key: key) ?? failure }
        if replicaSet.status != plan.status {
            var updated = replicaSet
            updated.status = plan.status
            try await api.update(ResourceDescriptor.replicaSet, updated, subresource: "status")
        }
        if let recheck = plan.recheckAt {
            queue.add(key, after: .milliseconds(Int64(max(0, recheck.timeIntervalSince(now)) * 1000) + 50))
        }
        if let failure { throw failure }
    }

    /// Creates in growing batches (1, 2, 4 …) as Kubernetes does, so a template the server
    /// rejects costs one failed request, not hundreds.
    private func createPods(_ replicaSet: ReplicaSet, count: Int, key: String) async -> (any Error)? {
        let template = ReplicaSetPlanner.newPod(for: replicaSet)
        let namespace = replicaSet.metadata.namespace
        var remaining = count
        var batch = 1
        while remaining > 0 {
            let size = min(batch, remaining)
            let failures = await withTaskGroup(of: (any Error)?.self) { group in
                for _ in 0..<size {
                    group.addTask { [api] in
                        do {
                            try await api.create(ResourceDescriptor.pod, namespace: namespace, template)
                            return nil
                        } catch {
                            return error
                        }
                    }
                }
                var errors: [any Error] = []
                for await result in group { if let result { errors.append(result) } }
                return errors
            }
            remaining -= size
            if let first = failures.first {
                // Neither the failed creates nor the ones never attempted will show up.
                for _ in 0..<(failures.count + remaining) { expectations.creationFailed(key) }
                logger.warning("failed to create pods", metadata: ["replicaset": "\(key)", "error": "\(first)"])
                await api.event(about: ObjectReferenceValue(kind: "ReplicaSet", apiVersion: "apps/v1", namespace: namespace, name: replicaSet.metadata.name ?? "", uid: replicaSet.metadata.uid),
                                reason: "FailedCreate", message: "Error creating: \(first)", type: "Warning", component: "replicaset-controller")
                return first
            }
            batch = min(batch * 2, 500)
        }
        return nil
    }

    private func deletePods(_ victims: [Pod], key: String) async -> (any Error)? {
        await withTaskGroup(of: (any Error)?.self) { group in
            for pod in victims {
                group.addTask { [api, expectations] in
                    do {
                        try await api.delete(ResourceDescriptor.pod, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", uid: pod.metadata.uid)
                        return nil
                    } catch {
                        if let uid = pod.metadata.uid { expectations.deletionObserved(key, uid: uid) }
                        return error
                    }
                }
            }
            var first: (any Error)?
            for await result in group where first == nil { first = result }
            return first
        }
    }
}
