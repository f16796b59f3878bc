import BerthCore
import Foundation
import Logging

/// Deletes objects whose owners are gone (`ownerReferences`), and carries out the Foreground
/// and Orphan propagation policies the API server records as finalizers on the owner.
public final class GarbageCollector: Reconciler {
    public let name = "garbage-collector"
    public let queue = WorkQueue(name: "garbage_collector")
    let pods: Informer<Pod>
    let replicaSets: Informer<ReplicaSet>
    let deployments: Informer<Deployment>
    let daemonSets: Informer<DaemonSet>
    let revisions: Informer<ControllerRevision>
    let jobs: Informer<Job>
    let cronJobs: Informer<CronJob>
    let statefulSets: Informer<StatefulSet>?
    let claims: Informer<PersistentVolumeClaim>?
    let api: ResourceAPI
    let logger: Logger

    static let foreground = "foregroundDeletion"
    static let orphan = "orphan"

    /// Queue keys: `dependent|KIND|ns/name` checks one dependent; `owner|KIND|ns/name` works a
    /// deleting owner's finalizer.
    enum Item {
        case dependent(kind: String, key: String)
        case owner(kind: String, key: String)

        init?(_ text: String) {
            let parts = text.split(separator: "|", maxSplits: 2).map(String.init)
            guard parts.count == 3 else { return nil }
            self = parts[0] == "owner" ? .owner(kind: parts[1], key: parts[2]) : .dependent(kind: parts[1], key: parts[2])
        }

        var text: String {
            switch self {
            case .dependent(let kind, let key): "dependent|\(kind)|\(key)"
            case .owner(let kind, let key): "owner|\(kind)|\(key)"
            }
        }
    }

    public init(pods: Informer<Pod>, replicaSets: Informer<ReplicaSet>, deployments: Informer<Deployment>, daemonSets: Informer<DaemonSet>,
                revisions: Informer<ControllerRevision>, jobs: Informer<Job>, cronJobs: Informer<CronJob>,
                statefulSets: Informer<StatefulSet>? = nil, claims: Informer<PersistentVolumeClaim>? = nil, api: ResourceAPI, logger: Logger) {
        self.pods = pods
        self.statefulSets = statefulSets
        self.claims = claims
        self.replicaSets = replicaSets
        self.deployments = deployments
        self.daemonSets = daemonSets
        self.revisions = revisions
        self.jobs = jobs
        self.cronJobs = cronJobs
        self.api = api
        self.logger = logger
        pods.addHandler { [queue] event in
            switch event {
            case .added(let pod):
                if pod.metadata.ownerReferences?.isEmpty == false { queue.add(Item.dependent(kind: "Pod", key: Informer<Pod>.key(pod)).text) }
                if pod.metadata.deletionTimestamp != nil { queue.add(Item.owner(kind: "Pod", key: Informer<Pod>.key(pod)).text) }
            case .updated(_, let pod):
                // A pod deleted in the foreground has no dependents: its finalizer can go at once.
                if pod.metadata.deletionTimestamp != nil, pod.metadata.finalizers?.contains(Self.foreground) == true {
                    queue.add(Item.owner(kind: "Pod", key: Informer<Pod>.key(pod)).text)
                }
            case .deleted: break
            }
        }
        replicaSets.addHandler { [weak self] event in self?.ownerChanged("ReplicaSet", event, dependentOf: { $0.metadata }) }
        deployments.addHandler { [weak self] event in self?.ownerChanged("Deployment", event, dependentOf: { $0.metadata }) }
        daemonSets.addHandler { [weak self] event in self?.ownerChanged("DaemonSet", event, dependentOf: { $0.metadata }) }
        revisions.addHandler { [weak self] event in self?.ownerChanged("ControllerRevision", event, dependentOf: { $0.metadata }) }
        jobs.addHandler { [weak self] event in self?.ownerChanged("Job", event, dependentOf: { $0.metadata }) }
        cronJobs.addHandler { [weak self] event in self?.ownerChanged("CronJob", event, dependentOf: { $0.metadata }) }
        statefulSets?.addHandler { [weak self] event in self?.ownerChanged("StatefulSet", event, dependentOf: { $0.metadata }) }
        claims?.addHandler { [weak self] event in self?.ownerChanged("PersistentVolumeClaim", event, dependentOf: { $0.metadata }) }
    }

    private func ownerChanged<T: APIResource>(_ kind: String, _ event: InformerEvent<T>, dependentOf meta: (T) -> ObjectMeta) {
        switch event {
        case .added(let object):
            if meta(object).ownerReferences?.isEmpty == false { queue.add(Item.dependent(kind: kind, key: Informer<T>.key(object)).text) }
            if meta(object).deletionTimestamp != nil { queue.add(Item.owner(kind: kind, key: Informer<T>.key(object)).text) }
        case .updated(_, let new):
            if meta(new).deletionTimestamp != nil { queue.add(Item.owner(kind: kind, key: Informer<T>.key(new)).text) }
        case .deleted(let object):
            guard let uid = meta(object).uid else { return }
            for key in dependentKeys(of: uid) { queue.add(key) }
        }
    }

    private func dependentKeys(of uid: String) -> [String] {
        pods.owned(by: uid).map { Item.dependent(kind: "Pod", key: Informer<Pod>.key($0)).text }
            + replicaSets.owned(by: uid).map { Item.dependent(kind: "ReplicaSet", key: Informer<ReplicaSet>.key($0)).text }
            + revisions.owned(by: uid).map { Item.dependent(kind: "ControllerRevision", key: Informer<ControllerRevision>.key($0)).text }
            + jobs.owned(by: uid).map { Item.dependent(kind: "Job", key: Informer<Job>.key($0)).text }
            + (claims?.owned(by: uid) ?? []).map { Item.dependent(kind: "PersistentVolumeClaim", key: Informer<PersistentVolumeClaim>.key($0)).text }
    }

    /// After the caches are filled: every dependent whose owner may have gone while no
    /// controller was running.
    public func scanAll() {
        for pod in pods.list() where pod.metadata.ownerReferences?.isEmpty == false {
            queue.add(Item.dependent(kind: "Pod", key: Informer<Pod>.key(pod)).text)
        }
        for replicaSet in replicaSets.list() where replicaSet.metadata.ownerReferences?.isEmpty == false {
            queue.add(Item.dependent(kind: "ReplicaSet", key: Informer<ReplicaSet>.key(replicaSet)).text)
        }
        for revision in revisions.list() where revision.metadata.ownerReferences?.isEmpty == false {
            queue.add(Item.dependent(kind: "ControllerRevision", key: Informer<ControllerRevision>.key(revision)).text)
        }
        for job in jobs.list() where job.metadata.ownerReferences?.isEmpty == false {
            queue.add(Item.dependent(kind: "Job", key: Informer<Job>.key(job)).text)
        }
        for claim in claims?.list() ?? [] where claim.metadata.ownerReferences?.isEmpty == false {
            queue.add(Item.dependent(kind: "PersistentVolumeClaim", key: Informer<PersistentVolumeClaim>.key(claim)).text)
        }
        for deployment in deployments.list() where deployment.metadata.deletionTimestamp != nil {
            queue.add(Item.owner(kind: "Deployment", key: Informer<Deployment>.key(deployment)).text)
        }
    }

    public func reconcile(_ text: String) async throws {
        switch Item(text) {
        case .dependent(let kind, let key): try await checkDependent(kind: kind, key: key)
        case .owner(let kind, let key): try await finishOwner(kind: kind, key: key)
        case nil: return
        }
    }
}
