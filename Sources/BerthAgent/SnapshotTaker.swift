import BerthCore
import BerthRuntime
import BerthStorage
import Foundation
import Logging

/// The node's half of snapshots: takes the snapshot of a volume whose data this node holds (a
/// `berth.dev/local` volume pinned here: the filesystem frozen while its image is copied,
/// sparse; a `berth.dev/glusterfs` volume this node acts for: a tar of its files) into the
/// agent's snapshot directory, reports it ready on the VolumeSnapshotContent (`NODE:PATH`), and
/// removes the archive when the content is deleted. Reads the API every two seconds.
struct SnapshotTaker: Sendable {
    let api: AgentAPI
    let node: String
    let directory: String
    let glusterMounts: String
    let logger: Logger

    static let contentsPath = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents"

    func run() async {
        while !Task.isCancelled {
            do throws(BerthError) { try await pass() } catch {
                logger.warning("snapshot pass failed", metadata: ["error": "\(error.message)"])
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    private func pass() async throws(BerthError) {
        let contents = try await api.list(VolumeSnapshotContent.self, Self.contentsPath)
        guard !contents.isEmpty else { return }
        var nodes: [Node]?
        for content in contents {
            let name = content.metadata.name ?? ""
            if content.metadata.deletionTimestamp != nil {
                guard let handle = SnapshotPlanner.handle(content.status?.snapshotHandle), handle.node == node,
                      content.metadata.finalizers?.contains(SnapshotPlanner.cleanupFinalizer) == true else { continue }
                unlink(handle.path)
                let remaining = (content.metadata.finalizers ?? []).filter { $0 != SnapshotPlanner.cleanupFinalizer }
                _ = try await api.mergePatch("\(Self.contentsPath)/\(name)", ["metadata": [
                    "finalizers": remaining.isEmpty ? .null : .array(remaining.map { .string($0) }), "resourceVersion": .string(content.metadata.resourceVersion ?? ""),
                ]])
                logger.info("snapshot removed", metadata: ["content": "\(name)"])
                continue
            }
            // A pre-provisioned snapshot whose archive is here: ready as it is.
            if content.status?.readyToUse != true, let given = content.spec?.source.snapshotHandle, let handle = SnapshotPlanner.handle(given), handle.node == node {
                guard FileManager.default.fileExists(atPath: handle.path) else { continue }
                let size = content.metadata.annotations?[SnapshotPlanner.restoreSizeAnnotation].flatMap { Int64($0) }
                    ?? ((try? FileManager.default.attributesOfItem(atPath: handle.path))?[.size] as? Int64) ?? 0
                _ = try await api.mergePatch("\(Self.contentsPath)/\(name)/status", ["status": [
                    "readyToUse": true, "snapshotHandle": .string(given), "restoreSize": .number(String(size)),
                    "creationTime": .number(String(Int64(Date().timeIntervalSince1970 * 1e9))),
                ]])
                continue
            }
            guard content.status?.readyToUse != true, content.status?.error == nil, let volumeName = content.spec?.source.volumeHandle,
                  let volume = try await api.getIfPresent(PersistentVolume.self, "/api/v1/persistentvolumes/\(volumeName)") else { continue }
            let archive: String
            do throws(BerthError) {
                if LocalVolumeImages.isOurs(volume), VolumeBindingPlanner.pinnedNode(volume) == node {
                    archive = try await takeLocal(volume, content: name)
                } else if let gluster = volume.spec?.glusterfs {
                    if nodes == nil { nodes = try await api.list(Node.self, "/api/v1/nodes") }
                    guard GlusterPlan.actor(servers: GlusterPlan.servers(gluster.endpoints), nodes: nodes ?? []) == node else { continue }
                    archive = try await takeGluster(gluster, content: name)
                } else {
                    continue
                }
            } catch {
                let failure: JSONValue = ["time": .string(TableCells.formatTimestamp(Date())), "message": .string(error.message)]
                _ = try? await api.mergePatch("\(Self.contentsPath)/\(name)/status", ["status": ["readyToUse": false, "error": failure]])
                continue
            }
            let status: JSONValue = [
                "readyToUse": true, "snapshotHandle": .string("\(node):\(archive)"),
                "restoreSize": .number(String(volume.spec?.storage?.value ?? 0)),
                "creationTime": .number(String(Int64(Date().timeIntervalSince1970 * 1e9))),
            ]
            _ = try await api.mergePatch("\(Self.contentsPath)/\(name)/status", ["status": status])
            logger.info("snapshot taken", metadata: ["content": "\(name)", "volume": "\(volumeName)", "archive": "\(archive)"])
        }
    }

    /// A sparse copy of the volume's image, its filesystem frozen meanwhile (consistent: every
    /// write acknowledged before the freeze is in the copy).
    private func takeLocal(_ volume: PersistentVolume, content: String) async throws(BerthError) -> String {
        guard let path = volume.spec?.local?.path else { throw BerthError(.invalid, "volume has no local path") }
        try PodVolumes.makeDirectory(directory, mode: 0o700)
        let archive = "\(directory)/\(content).img"
        var frozen = false
        if PodVolumes.isMountPoint(path) { frozen = try await Subprocess.run("/usr/sbin/fsfreeze", ["-f", path]).succeeded }
        let copied = try await Subprocess.run("/usr/bin/cp", ["--sparse=always", LocalVolumeImages.imagePath(path), archive + ".partial"])
        if frozen { _ = try await Subprocess.run("/usr/sbin/fsfreeze", ["-u", path]) }
        guard copied.succeeded, rename(archive + ".partial", archive) == 0 else {
            unlink(archive + ".partial")
            throw BerthError(.internalError, "copying the image of \(volume.metadata.name ?? "") failed: \(copied.errorText)")
        }
        return archive
    }

    /// A tar of the GlusterFS volume's files, read through a mount of it on this node.
    private func takeGluster(_ source: GlusterfsPersistentVolumeSource, content: String) async throws(BerthError) -> String {
        let mount = try await GlusterMount.ensure(source, under: glusterMounts, api: api)
        try PodVolumes.makeDirectory(directory, mode: 0o700)
        let archive = "\(directory)/\(content).tar"
        let packed = try await Subprocess.run("/usr/bin/tar", ["-C", mount, "--exclude=./.trashcan", "-cf", archive + ".partial", "."])
        guard packed.succeeded, rename(archive + ".partial", archive) == 0 else {
            unlink(archive + ".partial")
            throw BerthError(.internalError, "archiving GlusterFS volume \(source.path) failed: \(packed.errorText)")
        }
        return archive
    }
}
