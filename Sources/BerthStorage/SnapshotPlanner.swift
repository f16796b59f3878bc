import BerthCore
import Foundation

/// What the snapshot controller writes: a VolumeSnapshotContent for each new VolumeSnapshot of
/// a claim whose volume Berth provisioned (the node holding the data then takes it), each
/// VolumeSnapshot's status from its content, and the contents of deleted snapshots removed
/// under deletion policy Delete. Pure.
public struct SnapshotPlan: Sendable {
    public var createContents: [VolumeSnapshotContent] = []
    public var snapshotStatuses: [VolumeSnapshot] = []
    public var deleteContents: [VolumeSnapshotContent] = []
    /// Deleted contents that never held data (their cleanup finalizer comes off here), and
    /// pre-provisioned contents bound to their snapshot's UID.
    public var releaseContents: [VolumeSnapshotContent] = []
}

public enum SnapshotPlanner {
    /// On a content: its data is removed by the agent holding it before the object goes.
    public static let cleanupFinalizer = "berth.dev/snapshot-cleanup"
    /// On a PersistentVolume: the snapshot archive (`PATH`) its data starts from.
    public static let restoreAnnotation = "storage.berth.dev/restore-from"
    /// On a pre-provisioned content (`berth volume restore`): the size its data restores to.
    public static let restoreSizeAnnotation = "storage.berth.dev/restore-size"
    public static let drivers = [StorageNames.localProvisioner, StorageNames.glusterProvisioner]

    public static func contentName(_ snapshot: VolumeSnapshot) -> String { "snapcontent-\(snapshot.metadata.uid ?? "")" }

    /// `NODE:PATH` → (node, path).
    public static func handle(_ text: String?) -> (node: String, path: String)? {
        guard let text, let colon = text.firstIndex(of: ":") else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    public static func plan(snapshots: [VolumeSnapshot], contents: [VolumeSnapshotContent], classes: [VolumeSnapshotClass],
                            claims: [PersistentVolumeClaim], volumes: [PersistentVolume], now: Date) -> SnapshotPlan {
        var plan = SnapshotPlan()
        let contentsByName = Dictionary(contents.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let claimsByKey = Dictionary(claims.map { ("\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")", $0) }, uniquingKeysWith: { a, _ in a })
        let volumesByName = Dictionary(volumes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        var live: Set<String> = []
        for snapshot in snapshots {
            let namespace = snapshot.metadata.namespace ?? "default"
            var status = snapshot.status ?? VolumeSnapshotStatus()
            let name = snapshot.spec?.source.volumeSnapshotContentName ?? contentName(snapshot)
            live.insert(name)
            if let content = contentsByName[name] {
                // A content made for this snapshot by name learns its UID: only then may the
                // snapshot's deletion take the content with it.
                if content.spec?.volumeSnapshotRef.uid == nil, content.spec?.volumeSnapshotRef.name == snapshot.metadata.name,
                   content.spec?.volumeSnapshotRef.namespace == snapshot.metadata.namespace {
                    var bound = content
                    bound.spec?.volumeSnapshotRef.uid = snapshot.metadata.uid
                    plan.releaseContents.append(bound)
                }
                status.boundVolumeSnapshotContentName = name
                status.readyToUse = content.status?.readyToUse ?? false
                status.restoreSize = content.status?.restoreSize.map { Quantity(integer: $0, format: .binarySI) }
                status.creationTime = content.status?.creationTime.map { TableCells.formatTimestamp(Date(timeIntervalSince1970: TimeInterval($0) / 1e9)) }
                status.error = content.status?.error
            } else if snapshot.metadata.deletionTimestamp == nil, let claimName = snapshot.spec?.source.persistentVolumeClaimName {
                switch newContent(snapshot, claim: claimsByKey["\(namespace)/\(claimName)"], volumes: volumesByName, classes: classes) {
                case .success(let content): plan.createContents.append(content)
                case .failure(let error): status.error = VolumeSnapshotError(time: status.error?.message == error.message ? status.error?.time : TableCells.formatTimestamp(now), message: error.message)
                }
                status.readyToUse = false
            }
            if status != snapshot.status {
                var updated = snapshot
                updated.status = status
                plan.snapshotStatuses.append(updated)
            }
        }
        for content in contents where content.metadata.deletionTimestamp != nil && content.status?.snapshotHandle == nil
            && content.metadata.finalizers?.contains(cleanupFinalizer) == true {
            var released = content
            released.metadata.finalizers?.removeAll { $0 == cleanupFinalizer }
            plan.releaseContents.append(released)
        }
        // A content whose snapshot is gone goes too, under Delete (its data with it).
        for content in contents where content.metadata.deletionTimestamp == nil && content.spec?.deletionPolicy == "Delete" {
            // Not bound to a snapshot yet (pre-provisioned, its snapshot still to come): kept.
            guard let reference = content.spec?.volumeSnapshotRef, reference.uid != nil else { continue }
            let exists = snapshots.contains { $0.metadata.namespace == reference.namespace && $0.metadata.name == reference.name
                && (reference.uid == nil || $0.metadata.uid == reference.uid) }
            if !exists { plan.deleteContents.append(content) }
        }
        return plan
    }

    static func newContent(_ snapshot: VolumeSnapshot, claim: PersistentVolumeClaim?, volumes: [String: PersistentVolume],
                           classes: [VolumeSnapshotClass]) -> Result<VolumeSnapshotContent, BerthError> {
        let claimName = snapshot.spec?.source.persistentVolumeClaimName ?? ""
        guard let claim else { return .failure(BerthError(.notFound, "persistentvolumeclaim \"\(claimName)\" not found")) }
        guard let volumeName = claim.spec?.volumeName, !volumeName.isEmpty, claim.status?.phase == "Bound", let volume = volumes[volumeName] else {
            return .failure(BerthError(.unavailable, "persistentvolumeclaim \"\(claimName)\" is not bound yet"))
        }
        let driver = volume.metadata.annotations?[StorageNames.provisionedBy] ?? ""
        guard drivers.contains(driver) else {
            return .failure(BerthError(.invalid, "volume \(volumeName) was not provisioned by \(drivers.joined(separator: " or ")); Berth cannot snapshot it"))
        }
        let named = snapshot.spec?.volumeSnapshotClassName
        let chosen = named.map { name in classes.first { $0.metadata.name == name } }
            ?? classes.first { $0.driver == driver && $0.metadata.annotations?[VolumeSnapshotClass.defaultAnnotation] == "true" }
            ?? classes.first { $0.driver == driver }
        guard let snapshotClass = chosen else {
            return .failure(BerthError(.notFound, named.map { "volumesnapshotclass \"\($0)\" not found" } ?? "no VolumeSnapshotClass for driver \(driver)"))
        }
        guard snapshotClass.driver == driver else {
            return .failure(BerthError(.invalid, "volumesnapshotclass \"\(snapshotClass.metadata.name ?? "")\" is for driver \(snapshotClass.driver), the volume's is \(driver)"))
        }
        var metadata = ObjectMeta(name: contentName(snapshot))
        metadata.finalizers = [cleanupFinalizer]
        let reference = ObjectReference(kind: "VolumeSnapshot", namespace: snapshot.metadata.namespace, name: snapshot.metadata.name,
                                        uid: snapshot.metadata.uid, apiVersion: "snapshot.storage.k8s.io/v1")
        return .success(VolumeSnapshotContent(metadata: metadata, spec: VolumeSnapshotContentSpec(
            volumeSnapshotRef: reference, driver: driver, deletionPolicy: snapshotClass.deletionPolicy,
            source: VolumeSnapshotContentSource(volumeHandle: volumeName, snapshotHandle: nil), volumeSnapshotClassName: snapshotClass.metadata.name)))
    }
}
