import BerthCore
import Glibc

/// Content-addressed blobs under `ROOT/blobs/ALGORITHM/HEX`, shared by every image. A blob is
/// written to `ROOT/ingest/`, hashed while it is written, and renamed into place only when its
/// digest matches: a blob in place is always the content its name says.
public final class ContentStore: Sendable {
    public let root: String

    public init(root: String) throws(BerthError) {
        self.root = root
        try PosixFS.makeDirectories("\(root)/blobs/sha256")
        try PosixFS.makeDirectories("\(root)/ingest")
    }

    public func path(for digest: Digest) -> String { "\(root)/blobs/\(digest.algorithm)/\(digest.hex)" }

    public func contains(_ digest: Digest) -> Bool { PosixFS.exists(path(for: digest)) }

    /// Reads a small blob (manifest, config, index) and checks it still hashes to its name.
    public func read(_ digest: Digest, limit: Int = 16 << 20) throws(BerthError) -> [UInt8] {
        guard contains(digest) else { throw BerthError(.notFound, "blob \(digest) not found") }
        let bytes = try PosixFS.readAll(path(for: digest), limit: limit)
        var hasher = DigestHasher(algorithm: digest.algorithm)
        hasher.update(bytes)
        guard hasher.finalize() == digest else { throw BerthError(.internalError, "blob \(digest) is corrupt on disk") }
        return bytes
    }

    /// Stores `bytes`; when `expected` is given, refuses content that hashes to anything else.
    @discardableResult
    public func write(_ bytes: [UInt8], expected: Digest? = nil) throws(BerthError) -> Digest {
        let writer = try BlobWriter(store: self, algorithm: expected?.algorithm ?? "sha256")
        try writer.append(bytes)
        return try writer.commit(expected: expected)
    }

    public func delete(_ digest: Digest) { unlink(path(for: digest)) }

    public func all() -> [Digest] {
        var digests: [Digest] = []
        for algorithm in (try? PosixFS.list("\(root)/blobs")) ?? [] {
            for hex in (try? PosixFS.list("\(root)/blobs/\(algorithm)")) ?? [] {
                if let digest = try? Digest(parsing: "\(algorithm):\(hex)") { digests.append(digest) }
            }
        }
        return digests
    }

    public func size(of digest: Digest) -> Int64? {
        var info = stat()
        guard stat(path(for: digest), &info) == 0 else { return nil }
        return Int64(info.st_size)
    }
}

/// Streams one blob into the store; `commit` verifies and publishes it, `deinit` without commit
/// leaves nothing behind.
public final class BlobWriter {
    private let store: ContentStore
    private let temporaryPath: String
    private var file: PosixFile?
    private var hasher: DigestHasher
    public private(set) var written: Int64 = 0

    public init(store: ContentStore, algorithm: String = "sha256") throws(BerthError) {
        self.store = store
        temporaryPath = "\(store.root)/ingest/\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        file = try PosixFile(path: temporaryPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        hasher = DigestHasher(algorithm: algorithm)
    }

    deinit {
        file = nil
        unlink(temporaryPath)
    }

    public func append(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        guard let file else { throw BerthError(.internalError, "blob writer already committed") }
        try file.write(bytes)
        hasher.update(bytes)
        written += Int64(bytes.count)
    }

    public func append(_ bytes: [UInt8]) throws(BerthError) {
        try bytes.withBytes { (buffer) throws(BerthError) in try append(buffer) }
    }

    /// Publishes the blob under its digest, after checking it against `expected` (and the size).
    public func commit(expected: Digest? = nil, expectedSize: Int64? = nil) throws(BerthError) -> Digest {
        guard let file else { throw BerthError(.internalError, "blob writer already committed") }
        let digest = hasher.finalize()
        if let expected, expected != digest {
            throw BerthError(.badRequest, "digest mismatch: expected \(expected), content is \(digest)")
        }
        if let expectedSize, expectedSize != written {
            throw BerthError(.badRequest, "size mismatch for \(digest): expected \(expectedSize) bytes, got \(written)")
        }
        try file.sync()
        self.file = nil
        try PosixFS.makeDirectories("\(store.root)/blobs/\(digest.algorithm)")
        guard rename(temporaryPath, store.path(for: digest)) == 0 else { throw BerthError.posix("rename", store.path(for: digest)) }
        return digest
    }
}
