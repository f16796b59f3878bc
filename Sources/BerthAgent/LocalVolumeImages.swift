import BerthCore
import BerthRuntime
import BerthStorage
import Foundation

/// `berth.dev/local` volumes on this node: each a filesystem image (`PATH.img`, sparse, ext4 by
/// default or xfs) loop-mounted at the volume's `local.path`, so the claim's size is the
/// filesystem's size and writing past it fails with ENOSPC. Made on first use, grown in place
/// (online: resize2fs / xfs_growfs on the mounted filesystem), removed when the volume is
/// deleted with reclaim Delete.
enum LocalVolumeImages {
    static func imagePath(_ path: String) -> String { path + ".img" }

    static func isOurs(_ volume: PersistentVolume) -> Bool {
        volume.metadata.annotations?[StorageNames.provisionedBy] == StorageNames.localProvisioner && volume.spec?.local != nil
    }

    /// Makes (first time) and mounts the volume's filesystem; returns where it is mounted.
    static func ensureMounted(_ volume: PersistentVolume) async throws(BerthError) -> String {
        guard let local = volume.spec?.local, let capacity = volume.spec?.storage else {
            throw BerthError(.invalid, "persistentvolume \(volume.metadata.name ?? "") has no local path or capacity")
        }
        let path = local.path
        let image = imagePath(path)
        let fsType = local.fsType ?? "ext4"
        let bytes = max(capacity.value, 16 << 20)
        try PodVolumes.makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o700)
        if !FileManager.default.fileExists(atPath: image), let archive = volume.metadata.annotations?[SnapshotPlanner.restoreAnnotation] {
            // Restored from a snapshot: its image, grown to the claim's size.
            let partial = image + ".partial"
            let copied = try await Subprocess.run("/usr/bin/cp", ["--sparse=always", archive, partial])
            guard copied.succeeded else {
                unlink(partial)
                throw BerthError(.notFound, "restoring volume \(volume.metadata.name ?? "") from \(archive) failed: \(copied.errorText)")
            }
            try await growOffline(image: partial, bytes: bytes, fsType: fsType)
            guard rename(partial, image) == 0 else { throw BerthError(.internalError, "cannot rename \(partial)") }
        }
        if !FileManager.default.fileExists(atPath: image) {
            // Made under a temporary name, so a crash half-way never leaves an image that looks done.
            let partial = image + ".partial"
            unlink(partial)
            let descriptor = open(partial, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw BerthError(.internalError, "cannot create \(partial): \(String(cString: strerror(errno)))") }
            let sized = ftruncate(descriptor, off_t(bytes))
            close(descriptor)
            guard sized == 0 else { throw BerthError(.insufficientStorage, "cannot size \(partial) to \(bytes) bytes") }
            let made = fsType == "xfs"
                ? try await Subprocess.run("/usr/sbin/mkfs.xfs", ["-q", "-f", partial])
                : try await Subprocess.run("/usr/sbin/mkfs.ext4", ["-q", "-F", "-m", "0", "-E", "lazy_itable_init=0,lazy_journal_init=0", partial])
            guard made.succeeded else {
                unlink(partial)
                throw BerthError(.internalError, "mkfs.\(fsType) failed for volume \(volume.metadata.name ?? ""): \(made.errorText)")
            }
            guard rename(partial, image) == 0 else { throw BerthError(.internalError, "cannot rename \(partial)") }
        }
        try PodVolumes.makeDirectory(path, mode: 0o755)
        if !PodVolumes.isMountPoint(path) {
            try await growOffline(image: image, bytes: bytes, fsType: fsType)
            let mounted = try await Subprocess.run("/usr/bin/mount", ["-t", fsType, "-o", "loop", image, path])
            guard mounted.succeeded else { throw BerthError(.internalError, "mounting volume \(volume.metadata.name ?? "") failed: \(mounted.errorText)") }
            // Direct I/O from the loop device to its image: the data is cached once (in the
            // volume's filesystem), not a second time as the image file's pages.
            if let device = try? await loopDevice(of: path) { _ = try? await Subprocess.run("/usr/sbin/losetup", ["--direct-io=on", device]) }
            // Any container user may write to a fresh volume, as with local-path volumes.
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: path), entries.allSatisfy({ $0 == "lost+found" }) { chmod(path, 0o777) }
        }
        try await grow(volume)
        return path
    }

    /// Grows the image and its mounted filesystem to the volume's capacity, if it is larger.
    static func grow(_ volume: PersistentVolume) async throws(BerthError) {
        guard let local = volume.spec?.local, let capacity = volume.spec?.storage else { return }
        let image = imagePath(local.path)
        guard let size = (try? FileManager.default.attributesOfItem(atPath: image))?[.size] as? Int64, capacity.value > size,
              PodVolumes.isMountPoint(local.path) else { return }
        guard truncate(image, off_t(capacity.value)) == 0 else { throw BerthError(.insufficientStorage, "cannot grow \(image)") }
        let device = try await loopDevice(of: local.path)
        let refreshed = try await Subprocess.run("/usr/sbin/losetup", ["-c", device])
        guard refreshed.succeeded else { throw BerthError(.internalError, "losetup -c \(device) failed: \(refreshed.errorText)") }
        let resized = (local.fsType ?? "ext4") == "xfs"
            ? try await Subprocess.run("/usr/sbin/xfs_growfs", [local.path])
            : try await Subprocess.run("/usr/sbin/resize2fs", [device])
        guard resized.succeeded else {
            // ext4 grows online through an ioctl that needs CAP_SYS_RESOURCE; an agent without
            // it grows the image the next time it mounts it.
            let hint = resized.errorText.contains("Permission denied") ? " (online ext4 growth needs CAP_SYS_RESOURCE, which this agent lacks; the filesystem grows when the volume is next mounted)" : ""
            throw BerthError(.internalError, "growing the filesystem of \(volume.metadata.name ?? "") failed: \(resized.errorText)\(hint)")
        }
    }

    /// The loop device a volume is mounted from.
    static func loopDevice(of path: String) async throws(BerthError) -> String {
        let source = try await Subprocess.run("/usr/bin/findmnt", ["-n", "-o", "SOURCE", "--target", path])
        let device = String(decoding: source.standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard device.hasPrefix("/dev/loop") else { throw BerthError(.internalError, "\(path) is not mounted from a loop device (\(device))") }
        return device
    }

    /// Grows an unmounted ext4 image to `bytes` (a claim that grew while the filesystem could
    /// not be grown online).
    static func growOffline(image: String, bytes: Int64, fsType: String) async throws(BerthError) {
        guard fsType == "ext4", let size = (try? FileManager.default.attributesOfItem(atPath: image))?[.size] as? Int64, bytes > size else { return }
        guard truncate(image, off_t(bytes)) == 0 else { throw BerthError(.insufficientStorage, "cannot grow \(image)") }
        _ = try await Subprocess.run("/usr/sbin/e2fsck", ["-f", "-p", image])
        let resized = try await Subprocess.run("/usr/sbin/resize2fs", [image])
        guard resized.succeeded else { throw BerthError(.internalError, "growing \(image) failed: \(resized.errorText)") }
    }

    /// Unmounts the volume and removes its data (reclaim Delete).
    static func remove(_ volume: PersistentVolume) throws(BerthError) {
        guard let path = volume.spec?.local?.path else { return }
        if PodVolumes.isMountPoint(path), umount2(path, 0) != 0 {
            throw BerthError(.conflict, "volume \(volume.metadata.name ?? "") is still in use at \(path): \(String(cString: strerror(errno)))")
        }
        try? FileManager.default.removeItem(atPath: path)
        unlink(imagePath(path))
        unlink(imagePath(path) + ".partial")
    }

    /// Mount points of the volumes made here, to unmount on `berth cleanup`.
    static func mounted(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { !$0.hasSuffix(".img") && !$0.hasSuffix(".partial") }.map { "\(directory)/\($0)" }.filter(PodVolumes.isMountPoint)
    }
}
