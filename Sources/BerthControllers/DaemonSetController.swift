import BerthCore
import Foundation
import Logging

/// Runs one pod of each DaemonSet on every node that accepts it, follows nodes joining and
/// leaving, and rolls template changes out `maxUnavailable` nodes at a time.
public final class DaemonSetController: Reconciler {
    public let name = "daemonset"
    public let queue = WorkQueue(name: "daemonset")
    let daemonSets: Informer<DaemonSet>
    let nodes: Informer<Node>
    let pods: Informer<Pod>
    let revisions: Informer<ControllerRevision>
    let api: ResourceAPI
    let expectations = Expectations()
    let logger: Logger

    public init(daemonSets: Informer<DaemonSet>, nodes: Informer<Node>, pods: Informer<Pod>, revisions: Informer<ControllerRevision>,
                api: ResourceAPI, logger: Logger) {
        self.daemonSets = daemonSets
        self.nodes = nodes
        self.pods = pods
        self.revisions = revisions
        self.api = api
        self.logger = logger
        daemonSets.addHandler { [queue] event in
            switch event {
            case .added(let object), .deleted(let object): queue.add(Informer<DaemonSet>.key(object))
            case .updated(let old, let new):
                if old.spec != new.spec || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp { queue.add(Informer<DaemonSet>.key(new)) }
            }
        }
        nodes.addHandler { [queue, daemonSets] event in
            if case .updated(let old, let new) = event, old.metadata.labels == new.metadata.labels, old.spec?.taints == new.spec?.taints,
               old.spec?.unschedulable == new.spec?.unschedulable {
                return
            }
            for daemonSet in daemonSets.list() { queue.add(Informer<DaemonSet>.key(daemonSet)) }
        }
        revisions.addHandler { [queue] event in
            let revision: ControllerRevision
            switch event {
            case .added(let object), .deleted(let object), .updated(_, let object): revision = object
            }
            guard let owner = revision.metadata.ownerReferences?.first(where: { $0.controller == true }), owner.kind == "DaemonSet" else { return }
            queue.add(Informer<DaemonSet>.key(namespace: revision.metadata.namespace, name: owner.name))
        }
        pods.addHandler { [queue, expectations, daemonSets] event in
            if let orphan = OrphanEvents.adoptable(event) {
                let owners = daemonSets.selecting(namespace: orphan.metadata.namespace, labels: orphan.metadata.labels) { $0.spec?.selector }
                for daemonSet in owners { queue.add(Informer<DaemonSet>.key(daemonSet)) }
                return
            }
            let pod: Pod
            switch event {
            case .added(let object): pod = object
            case .updated(_, let new): pod = new
            case .deleted(let object): pod = object
            }
            guard let owner = pod.metadata.ownerReferences?.first(where: { $0.controller == true }), owner.kind == "DaemonSet" else { return }
            let key = Informer<DaemonSet>.key(namespace: pod.metadata.namespace, name: owner.name)
            switch event {
            case .added: expectations.creationObserved(key)
            case .deleted: if let uid = pod.metadata.uid { expectations.deletionObserved(key, uid: uid) }
            case .updated(let old, _):
                if old.metadata.deletionTimestamp == nil, pod.metadata.deletionTimestamp != nil, let uid = pod.metadata.uid { expectations.deletionObserved(key, uid: uid) }
            }
            queue.add(key)
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let daemonSet = daemonSets.get(key), let uid = daemonSet.metadata.uid else {
            expectations.forget(key)
            return
        }
        let claims = ControllerRefClaims.claim(ownerDeleting: daemonSet.metadata.deletionTimestamp != nil,
                                               selector: (daemonSet.spec?.selector).flatMap { try? LabelSelector($0) },
                                               owned: pods.owned(by: uid), orphans: pods.orphans(in: daemonSet.metadata.namespace))
        let owned = claims.adopt.isEmpty && claims.release.isEmpty ? claims.kept
            : await api.carryOut(claims, .pod, owner: .controller(daemonSet, kind: "DaemonSet"))
        if daemonSet.metadata.deletionTimestamp == nil { try await recordHistory(daemonSet, uid: uid, pods: owned) }
        let plan = DaemonSetPlanner.plan(daemonSet, nodes: nodes.list(), pods: owned, now: Date())
        if expectations.satisfied(key), daemonSet.metadata.deletionTimestamp == nil, !plan.createOn.isEmpty || !plan.delete.isEmpty {
            expectations.expect(key, adds: plan.createOn.count, deletes: Set(plan.delete.compactMap(\.metadata.uid)))
            for node in plan.createOn {
                do {
                    try await api.create(ResourceDescriptor.pod, namespace: daemonSet.metadata.namespace, DaemonSetPlanner.newPod(daemonSet, node: node))
                } catch {
                    expectations.creationFailed(key)
                    throw error
                }
            }
            for pod in plan.delete {
                try await api.delete(ResourceDescriptor.pod, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", uid: pod.metadata.uid)
            }
        }
        if daemonSet.status != plan.status {
            var updated = daemonSet
            updated.status = plan.status
            try await api.update(ResourceDescriptor.daemonSet, updated, subresource: "status")
        }
    }

    /// Keeps the ControllerRevisions that `kubectl rollout history|undo daemonset` read.
    private func recordHistory(_ daemonSet: DaemonSet, uid: String, pods: [Pod]) async throws {
        let plan = try TemplateHistory.plan(.daemonSet(daemonSet), revisions: revisions.owned(by: uid), pods: pods)
        if let create = plan.create {
            do throws(BerthError) {
                try await api.create(ResourceDescriptor.controllerRevision, namespace: daemonSet.metadata.namespace, create)
            } catch {
                // Already there means written before and not yet in the cache: its event
                // brings this DaemonSet back.
                if error.code != .alreadyExists { throw error }
            }
        }
        if let renumber = plan.renumber { try await api.update(ResourceDescriptor.controllerRevision, renumber) }
        for old in plan.delete {
            try await api.delete(ResourceDescriptor.controllerRevision, namespace: old.metadata.namespace, name: old.metadata.name ?? "", uid: old.metadata.uid)
        }
    }
}
