import BerthClient
import BerthCore
import BerthStorage
import Foundation
import Logging

/// Carries out `SnapshotPlanner`: contents for new snapshots, snapshot statuses, contents of
/// deleted snapshots removed. The agent holding a volume's data takes the snapshot itself.
public final class SnapshotController: Reconciler {
    public let name = "volumesnapshot"
    public let queue = WorkQueue(name: "volumesnapshot")
    public var workers: Int { 1 }
    let snapshots: Informer<VolumeSnapshot>
    let contents: Informer<VolumeSnapshotContent>
    let classes: Informer<VolumeSnapshotClass>
    let claims: Informer<PersistentVolumeClaim>
    let volumes: Informer<PersistentVolume>
    let api: ResourceAPI
    let logger: Logger
    static let key = "all"

    public init(snapshots: Informer<VolumeSnapshot>, contents: Informer<VolumeSnapshotContent>, classes: Informer<VolumeSnapshotClass>,
                claims: Informer<PersistentVolumeClaim>, volumes: Informer<PersistentVolume>, api: ResourceAPI, logger: Logger) {
        self.snapshots = snapshots
        self.contents = contents
        self.classes = classes
        self.claims = claims
        self.volumes = volumes
        self.api = api
        self.logger = logger
        snapshots.addHandler { [queue] _ in queue.add(Self.key) }
        contents.addHandler { [queue] _ in queue.add(Self.key) }
        classes.addHandler { [queue] _ in queue.add(Self.key) }
        claims.addHandler { [queue] event in
            if case .updated(let old, let new) = event, old.status?.phase == new.status?.phase { return }
            queue.add(Self.key)
        }
    }

    public func reconcile(_ key: String) async throws {
        let plan = SnapshotPlanner.plan(snapshots: snapshots.list(), contents: contents.list(), classes: classes.list(),
                                        claims: claims.list(), volumes: volumes.list(), now: Date())
        for content in plan.createContents {
            do throws(BerthError) {
                try await api.create(ResourceDescriptor.volumeSnapshotContent, namespace: nil, content)
            } catch {
                if error.code != .alreadyExists { throw error }
            }
        }
        for snapshot in plan.snapshotStatuses {
            do throws(BerthError) {
                try await api.update(ResourceDescriptor.volumeSnapshot, snapshot, subresource: "status")
            } catch {
                if error.code != .notFound { throw error }
            }
        }
        for content in plan.releaseContents {
            do throws(BerthError) { try await api.update(ResourceDescriptor.volumeSnapshotContent, content) } catch { if error.code != .notFound { throw error } }
        }
        for content in plan.deleteContents {
            do throws(BerthError) {
                try await api.delete(ResourceDescriptor.volumeSnapshotContent, namespace: nil, name: content.metadata.name ?? "", uid: content.metadata.uid)
            } catch {
                if error.code != .notFound { throw error }
            }
        }
    }
}
