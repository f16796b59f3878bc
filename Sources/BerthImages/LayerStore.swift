import BerthCore
import CBerthSys
import Glibc

/// Unpacked layers, one directory per layer blob digest (`ROOT/HEX`), each unpacked once and
/// shared read-only by every container as an overlayfs lower dir.
public final class LayerStore: Sendable {
    public let root: String
    let content: ContentStore

    init(root: String, content: ContentStore) throws(BerthError) {
        self.root = root
        self.content = content
        try PosixFS.makeDirectories(root)
        // Unpacks interrupted by a crash leave `.partial-*` directories; they are never used.
        for name in (try? PosixFS.list(root)) ?? [] where name.hasPrefix(".partial-") { PosixFS.removeTree("\(root)/\(name)") }
    }

    public func path(for layer: Digest) -> String { "\(root)/\(layer.hex)" }

    /// The unpacked directory of a layer blob; unpacks it first when needed and checks the
    /// uncompressed content against `diffID` from the image configuration.
    public func unpacked(_ layer: Descriptor, diffID: Digest?) throws(BerthError) -> String {
        let final = path(for: layer.digest)
        if PosixFS.exists(final) { return final }
        let blob = content.path(for: layer.digest)
        guard PosixFS.exists(blob) else { throw BerthError(.notFound, "layer \(layer.digest) is not in the content store") }
        let partial = "\(root)/.partial-\(layer.digest.hex.prefix(16))-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(partial, 0o755) == 0 else { throw BerthError.posix("mkdir", partial) }
        do throws(BerthError) {
            let source: ByteSource
            switch try LayerCompression.detect(path: blob) {
            case .gzip: source = try GzipByteSource(FileByteSource(path: blob))
            case .none: source = try FileByteSource(path: blob)
            case .zstd: source = try ZstdByteSource(FileByteSource(path: blob))
            }
            let unpackedDigest = try LayerUnpacker(root: partial).unpack(source)
            if let diffID, diffID != unpackedDigest {
                throw BerthError(.badRequest, "layer \(layer.digest) unpacks to \(unpackedDigest), but the image says \(diffID)")
            }
        } catch {
            PosixFS.removeTree(partial)
            throw error
        }
        if rename(partial, final) != 0 {
            // Another pull unpacked the same layer first; theirs is as good as ours.
            PosixFS.removeTree(partial)
            guard PosixFS.exists(final) else { throw BerthError.posix("rename", final) }
        }
        return final
    }

    /// The lower dirs for an image, topmost first, as overlayfs wants them.
    public func lowerDirectories(for image: LocalImage) throws(BerthError) -> [String] {
        let diffIDs = image.configuration.rootfs?.diff_ids ?? []
        var directories: [String] = []
        for (index, layer) in image.manifest.layers.enumerated() {
            directories.append(try unpacked(layer, diffID: index < diffIDs.count ? diffIDs[index] : nil))
        }
        return directories.reversed()
    }

    func removeAll(except live: Set<Digest>) {
        let keep = Set(live.map(\.hex))
        for name in (try? PosixFS.list(root)) ?? [] where !keep.contains(name) && !name.hasPrefix(".") {
            PosixFS.removeTree("\(root)/\(name)")
        }
    }
}

/// A container's root file system: the image's layers under an upper dir of its own.
public enum OverlayMount {
    /// Mounts `lower` (topmost first) + `upper` at `target`; `work` must be on the upper's file system.
    public static func mount(lower: [String], upper: String, work: String, target: String) throws(BerthError) {
        for directory in [upper, work, target] { try PosixFS.makeDirectories(directory) }
        var lowerDirs = lower
        if lowerDirs.isEmpty {
            // overlayfs needs one lower dir; an image without layers gets an empty one.
            let empty = "\(work)-empty"
            try PosixFS.makeDirectories(empty)
            lowerDirs = [empty]
        }
        let options = "lowerdir=\(lowerDirs.joined(separator: ":")),upperdir=\(upper),workdir=\(work)"
        guard options.utf8.count < 4000 else { throw BerthError(.badRequest, "image has too many layers for one overlay mount (\(lower.count))") }
        guard Glibc.mount("overlay", target, "overlay", 0, options) == 0 else { throw BerthError.posix("mount overlay at", target) }
    }

    /// Unmounts if mounted; lazily when busy, so a stuck process cannot pin the pod's directory.
    public static func unmount(_ target: String) {
        if umount2(target, 0) != 0 && errno == EBUSY { _ = umount2(target, Int32(MNT_DETACH)) }
    }

    public static func isMounted(_ target: String) -> Bool {
        berth_statfs_type(target) == 0x794c7630  // OVERLAYFS_SUPER_MAGIC
    }
}
