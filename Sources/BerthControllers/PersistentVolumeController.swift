import BerthClient
import BerthCore
import BerthStorage
import Foundation
import Logging
import Synchronization

/// Carries out `VolumeBindingPlanner`'s plan: binds claims, provisions `berth.dev/local`
/// volumes, releases and reclaims volumes, grows volumes, drops protection finalizers, and
/// tells a waiting claim why in an Event. One key: every change replans all claims (the plan is
/// pure and cheap; a conflict means the cache is behind, and the queue retries).
public final class PersistentVolumeController: Reconciler {
    public let name = "persistentvolume-binder"
    public let queue = WorkQueue(name: "persistentvolume")
    public var workers: Int { 1 }
    let claims: Informer<PersistentVolumeClaim>
    let volumes: Informer<PersistentVolume>
    let classes: Informer<StorageClass>
    let pods: Informer<Pod>
    let nodes: Informer<Node>
    let snapshots: Informer<VolumeSnapshot>?
    let contents: Informer<VolumeSnapshotContent>?
    let api: ResourceAPI
    let logger: Logger
    private let told = Mutex<[String: String]>([:])
    static let key = "all"

    public init(claims: Informer<PersistentVolumeClaim>, volumes: Informer<PersistentVolume>, classes: Informer<StorageClass>,
                pods: Informer<Pod>, nodes: Informer<Node>, snapshots: Informer<VolumeSnapshot>? = nil, contents: Informer<VolumeSnapshotContent>? = nil,
                api: ResourceAPI, logger: Logger) {
        self.snapshots = snapshots
        self.contents = contents
        self.claims = claims
        self.volumes = volumes
        self.classes = classes
        self.pods = pods
        self.nodes = nodes
        self.api = api
        self.logger = logger
        claims.addHandler { [queue] _ in queue.add(Self.key) }
        volumes.addHandler { [queue] _ in queue.add(Self.key) }
        classes.addHandler { [queue] _ in queue.add(Self.key) }
        pods.addHandler { [queue] event in
            // Only pods that use claims matter: a first consumer scheduled, a user gone.
            let pod: Pod
            switch event {
            case .added(let object), .deleted(let object): pod = object
            case .updated(let old, let new):
                guard old.spec?.nodeName != new.spec?.nodeName || old.status?.phase != new.status?.phase else { return }
                pod = new
            }
            if pod.spec?.volumes?.contains(where: { $0.persistentVolumeClaim != nil }) == true { queue.add(Self.key) }
        }
        nodes.addHandler { [queue] event in
            if case .added = event { queue.add(Self.key) }
        }
        // A snapshot turning ready lets a claim restored from it go on.
        snapshots?.addHandler { [queue] _ in queue.add(Self.key) }
    }

    public func reconcile(_ key: String) async throws {
        let plan = VolumeBindingPlanner.plan(.init(claims: claims.list(), volumes: volumes.list(), classes: classes.list(), pods: pods.list(), nodes: nodes.list(),
                                                   snapshots: snapshots?.list() ?? [], contents: contents?.list() ?? []))
        for volume in plan.create {
            do throws(BerthError) {
                try await api.create(ResourceDescriptor.persistentVolume, namespace: nil, volume)
                logger.info("volume provisioned", metadata: ["volume": "\(volume.metadata.name ?? "")", "claim": "\(volume.spec?.claimRef?.namespace ?? "")/\(volume.spec?.claimRef?.name ?? "")"])
                if let reference = volume.spec?.claimRef {
                    await api.event(about: ObjectReferenceValue(kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: reference.namespace, name: reference.name ?? "", uid: reference.uid),
                                    reason: "ProvisioningSucceeded", message: "Successfully provisioned volume \(volume.metadata.name ?? "")", component: "persistentvolume-controller")
                }
            } catch {
                if error.code != .alreadyExists { throw error }
            }
        }
        for volume in plan.updateVolumes { try await ignoringGone { () throws(BerthError) in try await api.update(ResourceDescriptor.persistentVolume, volume) } }
        for volume in plan.volumeStatuses {
            try await ignoringGone { () throws(BerthError) in try await api.update(ResourceDescriptor.persistentVolume, volume, subresource: "status") }
        }
        for claim in plan.updateClaims { try await ignoringGone { () throws(BerthError) in try await api.update(ResourceDescriptor.persistentVolumeClaim, claim) } }
        for claim in plan.claimStatuses {
            try await ignoringGone { () throws(BerthError) in try await api.update(ResourceDescriptor.persistentVolumeClaim, claim, subresource: "status") }
        }
        for volume in plan.deleteVolumes {
            try await ignoringGone { () throws(BerthError) in
                try await api.delete(ResourceDescriptor.persistentVolume, namespace: nil, name: volume.metadata.name ?? "", uid: volume.metadata.uid)
            }
            logger.info("released volume deleted (reclaim policy Delete)", metadata: ["volume": "\(volume.metadata.name ?? "")"])
        }
        for (claimKey, problem) in plan.problems.sorted(by: { $0.key < $1.key }) {
            guard isNews(problem.message, for: claimKey), let claim = claims.get(claimKey) else { continue }
            await api.event(about: ObjectReferenceValue(kind: "PersistentVolumeClaim", apiVersion: "v1", namespace: claim.metadata.namespace,
                                                        name: claim.metadata.name ?? "", uid: claim.metadata.uid),
                            reason: problem.reason, message: problem.message, type: problem.warning ? "Warning" : "Normal", component: "persistentvolume-controller")
        }
        let problems = plan.problems
        told.withLock { told in told = told.filter { problems[$0.key] != nil } }
    }

    private func ignoringGone(_ write: () async throws(BerthError) -> Void) async throws(BerthError) {
        do { try await write() } catch where error.code == .notFound {}
    }

    private func isNews(_ message: String, for claim: String) -> Bool {
        told.withLock { told in
            let previous = told[claim]
            told[claim] = message
            return previous != message
        }
    }
}
