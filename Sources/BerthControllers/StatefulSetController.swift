import BerthClient
import BerthCore
import Foundation
import Logging

/// Keeps each StatefulSet's pods `NAME-0…N-1` and their claims as `StatefulSetPlanner` says,
/// records its templates as ControllerRevisions (for `kubectl rollout history|undo`), and
/// writes its status.
public final class StatefulSetController: Reconciler {
    public let name = "statefulset"
    public let queue = WorkQueue(name: "statefulset")
    let statefulSets: Informer<StatefulSet>
    let pods: Informer<Pod>
    let claims: Informer<PersistentVolumeClaim>
    let revisions: Informer<ControllerRevision>
    let api: ResourceAPI
    let logger: Logger

    public init(statefulSets: Informer<StatefulSet>, pods: Informer<Pod>, claims: Informer<PersistentVolumeClaim>, revisions: Informer<ControllerRevision>,
                api: ResourceAPI, logger: Logger) {
        self.statefulSets = statefulSets
        self.pods = pods
        self.claims = claims
        self.revisions = revisions
        self.api = api
        self.logger = logger
        statefulSets.addHandler { [queue] event in
            switch event {
            case .added(let object), .deleted(let object): queue.add(Informer<StatefulSet>.key(object))
            case .updated(let old, let new):
                if old.spec != new.spec || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp { queue.add(Informer<StatefulSet>.key(new)) }
            }
        }
        pods.addHandler { [queue] event in
            let pod: Pod
            switch event {
            case .added(let object), .deleted(let object), .updated(_, let object): pod = object
            }
            guard let owner = pod.metadata.ownerReferences?.first(where: { $0.controller == true }), owner.kind == "StatefulSet" else { return }
            queue.add(Informer<StatefulSet>.key(namespace: pod.metadata.namespace, name: owner.name))
        }
        claims.addHandler { [queue, statefulSets] event in
            guard case .deleted(let claim) = event else { return }
            for set in statefulSets.list() where set.metadata.namespace == claim.metadata.namespace { queue.add(Informer<StatefulSet>.key(set)) }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let set = statefulSets.get(key), let uid = set.metadata.uid else { return }
        let owned = pods.owned(by: uid)
        let namespace = set.metadata.namespace
        let setClaims = claims.list().filter { $0.metadata.namespace == namespace && StatefulSetPlanner.claimOrdinal($0, set: set) != nil }
        let updateRevision = StatefulSetPlanner.revisionName(set)
        var history: [ControllerRevision] = revisions.owned(by: uid)
        if set.metadata.deletionTimestamp == nil { history = try await recordHistory(set, revisions: history, pods: owned) }
        let plan = StatefulSetPlanner.plan(set, pods: owned, claims: setClaims, now: Date())
        for claim in plan.createClaims {
            do throws(BerthError) {
                try await api.create(ResourceDescriptor.persistentVolumeClaim, namespace: namespace, claim)
            } catch {
                if error.code != .alreadyExists { throw error }
            }
        }
        for claim in plan.adoptClaims { try await api.update(ResourceDescriptor.persistentVolumeClaim, claim) }
        for ordinal in plan.create {
            // Below the partition a pod is made from the current revision's template.
            let partition = Int(set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0)
            var template = set.spec?.template ?? PodTemplateSpec()
            var revision = updateRevision
            if ordinal < partition, let current = set.status?.currentRevision, current != updateRevision,
               let recorded = history.first(where: { $0.metadata.name == current }), let old = TemplateHistory.template(of: recorded) {
                template = old
                revision = current
            }
            do throws(BerthError) {
                try await api.create(ResourceDescriptor.pod, namespace: namespace, StatefulSetPlanner.newPod(set, ordinal: ordinal, template: template, revision: revision))
            } catch {
                if error.code != .alreadyExists { throw error }
            }
        }
        for pod in plan.delete {
            try await api.delete(ResourceDescriptor.pod, namespace: namespace, name: pod.metadata.name ?? "", uid: pod.metadata.uid)
        }
        for claim in plan.deleteClaims {
            try await api.delete(ResourceDescriptor.persistentVolumeClaim, namespace: namespace, name: claim.metadata.name ?? "", uid: claim.metadata.uid)
        }
        if set.status != plan.status {
            var updated = set
            updated.status = plan.status
            do throws(BerthError) {
                try await api.update(ResourceDescriptor.statefulSet, updated, subresource: "status")
            } catch {
                if error.code != .notFound { throw error }
            }
        }
    }

    private func recordHistory(_ set: StatefulSet, revisions: [ControllerRevision], pods: [Pod]) async throws -> [ControllerRevision] {
        let owner = TemplateOwner(reference: StatefulSetPlanner.ownerReference(set, controller: true), namespace: set.metadata.namespace,
                                  template: set.spec?.template ?? PodTemplateSpec(),
                                  hash: DeploymentRevisions.templateHash(set.spec?.template ?? PodTemplateSpec(), collisionCount: set.status?.collisionCount),
                                  historyLimit: set.spec?.revisionHistoryLimit, podLabelValue: { $0.metadata.name ?? "" })
        let plan = try TemplateHistory.plan(owner, revisions: revisions, pods: pods)
        var result = revisions
        if let create = plan.create {
            do throws(BerthError) {
                try await api.create(ResourceDescriptor.controllerRevision, namespace: set.metadata.namespace, create)
                result.append(create)
            } catch {
                if error.code != .alreadyExists { throw error }
            }
        }
        if let renumber = plan.renumber { try await api.update(ResourceDescriptor.controllerRevision, renumber) }
        for old in plan.delete {
            try await api.delete(ResourceDescriptor.controllerRevision, namespace: old.metadata.namespace, name: old.metadata.name ?? "", uid: old.metadata.uid)
            result.removeAll { $0.metadata.name == old.metadata.name }
        }
        return result
    }
}
