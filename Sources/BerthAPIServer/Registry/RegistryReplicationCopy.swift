import BerthCore
import BerthImages
import BerthRegistry
import Foundation

/// Copying one image between the built-in registry and a remote one, incrementally: a tag
/// that already names the same digest there is skipped, and only blobs the other side lacks
/// cross. Manifests go last, after everything they refer to (an index after its entries).
struct ReplicationCopy: Sendable {
    let server: APIServer
    let registry: ImageRegistry
    let remote: RemoteRegistry

    /// Bytes of blobs moved.
    final class Tally: @unchecked Sendable {
        var bytes: Int64 = 0
        var images: Int64 = 0
    }

    // MARK: push (local → remote)

    /// Copies `repository:tag` out; false when the remote already had it.
    func push(_ repository: RepositoryName, tag: String, tally: Tally) async throws(BerthError) -> Bool {
        guard let local = try await registry.metadata.tag(tag, in: repository) else { return false }
        if try await remote.manifestDigest(repository.value, tag) == local.digest { return false }
        try await pushManifest(repository, local.digest, reference: tag, tally: tally)
        tally.images += 1
        return true
    }

    func pushManifest(_ repository: RepositoryName, _ digest: Digest, reference: String, tally: Tally) async throws(BerthError) {
        guard let record = try await registry.metadata.manifest(digest, in: repository) else {
            throw BerthError(.notFound, "manifest \(digest) of \(repository) is gone")
        }
        for child in record.manifests where try await remote.manifestDigest(repository.value, child.description) == nil {
            try await pushManifest(repository, child, reference: child.description, tally: tally)
        }
        for blob in record.blobs where try await !remote.hasBlob(repository.value, blob) {
            guard let size = registry.storage.content.size(of: blob) else { throw BerthError(.notFound, "blob \(blob) of \(repository) is gone") }
            try await remote.uploadBlob(repository.value, blob, file: registry.storage.content.path(for: blob), size: size)
            tally.bytes += size
        }
        let bytes = try registry.storage.content.read(digest, limit: ManifestDocument.maximumBytes)
        try await remote.putManifest(repository.value, reference, mediaType: record.mediaType, bytes: bytes)
    }

    // MARK: pull (remote → local)

    /// Copies `repository:reference` in; false when the local registry already had it.
    func pull(_ repository: RepositoryName, reference: String, tally: Tally) async throws(BerthError) -> Bool {
        let isDigest = reference.contains(":")
        guard let digest = try await remote.manifestDigest(repository.value, reference) else {
            throw BerthError.oci(.manifestUnknown, "manifest \(reference) not found in \(repository) at \(remote.base)")
        }
        if isDigest, try await registry.metadata.manifest(digest, in: repository) != nil { return false }
        if !isDigest, try await registry.metadata.tag(reference, in: repository)?.digest == digest { return false }
        try await pullManifest(repository, digest, tag: isDigest ? nil : reference, tally: tally)
        tally.images += 1
        return true
    }

    func pullManifest(_ repository: RepositoryName, _ digest: Digest, tag: String?, tally: Tally) async throws(BerthError) {
        guard let (mediaType, bytes) = try await remote.manifest(repository.value, digest.description) else {
            throw BerthError.oci(.manifestUnknown, "manifest \(digest) vanished from \(repository) at \(remote.base)")
        }
        guard Digest.sha256(of: bytes) == digest else { throw BerthError.oci(.digestInvalid, "\(remote.base) sent a manifest that is not \(digest)") }
        let document = try ManifestDocument(bytes: bytes, contentType: mediaType)
        for child in document.manifests where try await registry.metadata.manifest(child.digest, in: repository) == nil {
            try await pullManifest(repository, child.digest, tag: nil, tally: tally)
        }
        for blob in document.blobs where try await registry.metadata.link(blob.digest, in: repository) == nil {
            if !registry.storage.content.contains(blob.digest) {
                try await download(repository, blob.digest)
                tally.bytes += blob.size
            }
            try await server.linkBlob(blob.digest, size: blob.size, into: repository, registry)
        }
        try registry.storage.content.write(bytes, expected: digest)
        let record = ManifestRecord(document: document, size: Int64(bytes.count), created: server.clock.timestamp())
        try await registry.metadata.put(record, digest: digest, tag: tag, in: repository)
    }

    /// A remote blob into the local store, verified against its digest as it is written.
    func download(_ repository: RepositoryName, _ digest: Digest) async throws(BerthError) {
        let id = try registry.storage.createUpload()
        do throws(BerthError) {
            let appender = try registry.storage.append(to: id, at: 0)
            do throws(BerthError) {
                try await remote.downloadBlob(repository.value, digest) { (chunk) throws(BerthError) in
                    try chunk.withUnsafeReadableBytes { (raw) throws(BerthError) in try appender.write(raw) }
                }
            } catch {
                appender.close()
                throw error
            }
            appender.close()
            _ = try registry.storage.finish(id, expected: digest)
        } catch {
            registry.storage.cancel(id)
            throw error
        }
    }
}
