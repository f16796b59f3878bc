import BerthCore
import Foundation
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
/// atomic file replacements, so a crash leaves the old or the new table, never half of one.
public final class ImageStore: Sendable {
    public let content: ContentStore
    public let layers: LayerStore
    private let tablePath: String
    private let table: Mutex<[String: Digest]>

    public init(root: String) throws(BerthError) {
        content = try ContentStore(root: root)
        layers = try LayerStore(root: "\(root)/layers", content: content)
        tablePath = "\(root)/images.json"
        var loaded: [String: Digest] = [:]
        if PosixFS.exists(tablePath) {
            loaded = try JSONCoding.decode([String: Digest].self, from: Data(try PosixFS.readAll(tablePath)))
        }
        table = Mutex(loaded)
    }

    /// Records `reference` → manifest (already in the content store) and returns the image.
    @discardableResult
    public func tag(_ reference: ImageReference, manifest digest: Digest) throws(BerthError) -> LocalImage {
        let image = try load(reference.description, manifest: digest)
        try table.withLock { (table) throws(BerthError) in
            table[reference.description] = digest
            try PosixFS.writeAtomically(tablePath, Array(try JSONCoding.encode(table)))
        }
        return image
    }

    /// The local image for a reference (by name, or by digest when it pins one).
    public func image(_ reference: ImageReference) throws(BerthError) -> LocalImage? {
        let key = reference.description
        if let digest = table.withLock({ $0[key] }) { return try load(key, manifest: digest) }
        // `berth image import|tag` from another process (the CLI beside a running agent) writes
        // the table file: look there before calling the image missing.
        if PosixFS.exists(tablePath), let onDisk = try? JSONCoding.decode([String: Digest].self, from: Data(try PosixFS.readAll(tablePath))),
           let digest = onDisk[key] {
            table.withLock { $0[key] = digest }
            return try load(key, manifest: digest)
        }
        if let digest = reference.digest, content.contains(digest) { return try load(key, manifest: digest) }
        return nil
    }

    public func list() -> [LocalImage] {
        let entries = table.withLock { $0 }
        return entries.sorted { $0.key < $1.key }.compactMap { try? load($0.key, manifest: $0.value) }
    }

    /// Forgets a name; blobs and layers go with the next `collectGarbage`.
    public func remove(_ reference: ImageReference) throws(BerthError) {
        try table.withLock { (table) throws(BerthError) in
            guard table.removeValue(forKey: reference.description) != nil else {
                throw BerthError(.notFound, "image \(reference) not found")
            }
            try PosixFS.writeAtomically(tablePath, Array(try JSONCoding.encode(table)))
        }
    }

    /// Deletes blobs and unpacked layers no named image refers to; returns what was removed.
    @discardableResult
    public func collectGarbage(keeping inUse: Set<Digest> = []) -> [Digest] {
        var live = inUse
        for image in list() {
            live.insert(image.manifestDigest)
            live.insert(image.configDigest)
            image.manifest.layers.forEach { live.insert($0.digest) }
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
