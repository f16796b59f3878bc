import BerthCore
import Foundation
import Glibc
import Synchronization

/// An image known locally: its name, manifest and configuration.
public struct LocalImage: Sendable, Hashable {
    public var reference: String
    public var manifestDigest: Digest
    public var manifest: ImageManifest
    public var configuration: ImageConfiguration
    public var configDigest: Digest { manifest.config.digest }
    /// Compressed size of all layers, as `berth image ls` shows it.
    public var size: Int64 { manifest.layers.reduce(0) { $0 + $1.size } }
}

/// Names → manifests (`ROOT/images.json`), over the shared content and layer stores. Writes are
/// atomic file replacements, so a crash leaves the old or the new table, never half of one. The
/// table is shared with other processes on the node (`berth image import|rm` beside a running
/// agent): a change re-reads the file under an exclusive lock, applies itself and writes it
/// back, and readers pick up the file when it changed, so neither side loses the other's names.
public final class ImageStore: Sendable {
    public let content: ContentStore
    public let layers: LayerStore
    private let tablePath: String
    /// The table and the file's (modification time, size) when it was read.
    private let table: Mutex<(entries: [String: Digest], stamp: [Int])>

    public init(root: String) throws(BerthError) {
        content = try ContentStore(root: root)
        layers = try LayerStore(root: "\(root)/layers", content: content)
        tablePath = "\(root)/images.json"
        table = Mutex(([:], []))
        _ = try entries()
    }

    /// The table as the file has it now (re-read only when the file changed).
    private func entries() throws(BerthError) -> [String: Digest] {
        let stamp = Self.stamp(tablePath)
        if let cached = table.withLock({ $0.stamp == stamp ? $0.entries : nil }) { return cached }
        let loaded = stamp.isEmpty ? [:] : try JSONCoding.decode([String: Digest].self, from: Data(try PosixFS.readAll(tablePath)))
        table.withLock { $0 = (loaded, stamp) }
        return loaded
    }

    private static func stamp(_ path: String) -> [Int] {
        var info = stat()
        guard stat(path, &info) == 0 else { return [] }
        return [info.st_mtim.tv_sec, info.st_mtim.tv_nsec, Int(info.st_size), Int(info.st_ino)]
    }

    /// Applies `change` to the current file's table under an exclusive lock and writes it back.
    private func updateTable<R>(_ change: (inout [String: Digest]) throws(BerthError) -> R) throws(BerthError) -> R {
        let lock = open(tablePath + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw BerthError(.internalError, "cannot open \(tablePath).lock: \(String(cString: strerror(errno)))") }
        defer { close(lock) }  // closing releases the lock
        guard flock(lock, LOCK_EX) == 0 else { throw BerthError(.internalError, "cannot lock \(tablePath).lock: \(String(cString: strerror(errno)))") }
        var current = try entries()
        let result = try change(&current)
        try PosixFS.writeAtomically(tablePath, Array(try JSONCoding.encode(current)))
        let written = current
        table.withLock { $0 = (written, Self.stamp(tablePath)) }
        return result
    }

    /// Records `reference` → manifest (already in the content store) and returns the image.
    @discardableResult
    public func tag(_ reference: ImageReference, manifest digest: Digest) throws(BerthError) -> LocalImage {
        let image = try load(reference.description, manifest: digest)
        try updateTable { $0[reference.description] = digest }
        return image
    }

    /// The local image for a reference (by name, or by digest when it pins one).
    public func image(_ reference: ImageReference) throws(BerthError) -> LocalImage? {
        let key = reference.description
        if let digest = try entries()[key] { return try load(key, manifest: digest) }
        if let digest = reference.digest, content.contains(digest) { return try load(key, manifest: digest) }
        return nil
    }

    public func list() -> [LocalImage] {
        let current = (try? entries()) ?? table.withLock { $0.entries }
        return current.sorted { $0.key < $1.key }.compactMap { try? load($0.key, manifest: $0.value) }
    }

    /// Forgets a name; blobs and layers go with the next `collectGarbage`.
    public func remove(_ reference: ImageReference) throws(BerthError) {
        try updateTable { (table) throws(BerthError) in
            guard table.removeValue(forKey: reference.description) != nil else {
                throw BerthError(.notFound, "image \(reference) not found")
            }
        }
    }

    /// Deletes blobs and unpacked layers no named image refers to; returns what was removed.
    /// Blobs written less than `graceSeconds` ago stay: a pull that has written its blobs but not
    /// yet named its image (in this process or another) must not lose them.
    @discardableResult
    public func collectGarbage(keeping inUse: Set<Digest> = [], graceSeconds: Int = 0) -> [Digest] {
        var live = inUse
        for image in list() {
            live.insert(image.manifestDigest)
            live.insert(image.configDigest)
            image.manifest.layers.forEach { live.insert($0.digest) }
        }
        if graceSeconds > 0 {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            for digest in content.all() where !live.contains(digest) {
                var info = stat()
                if stat(content.path(for: digest), &info) == 0, now.tv_sec - info.st_mtim.tv_sec < graceSeconds { live.insert(digest) }
            }
        }
        var removed: [Digest] = []
        for digest in content.all() where !live.contains(digest) {
            content.delete(digest)
            removed.append(digest)
        }
        layers.removeAll(except: live)
        return removed
    }

    func load(_ reference: String, manifest digest: Digest) throws(BerthError) -> LocalImage {
        let manifest = try JSONCoding.decode(ImageManifest.self, from: Data(try content.read(digest)))
        let configuration = try JSONCoding.decode(ImageConfiguration.self, from: Data(try content.read(manifest.config.digest)))
        return LocalImage(reference: reference, manifestDigest: digest, manifest: manifest, configuration: configuration)
    }
}
