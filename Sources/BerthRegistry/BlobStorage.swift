import BerthCore
import BerthImages
import Glibc
import Synchronization

/// The registry's bytes: a content store (`ROOT/blobs/sha256/HEX`, each blob once however many
/// repositories hold it, named by a digest checked on write) and upload sessions
/// (`ROOT/uploads/ID`), whose file size is the session's offset, so an upload broken off
/// resumes where its bytes end — on this server or another sharing ROOT.
public final class BlobStorage: Sendable {
    public let root: String
    public let content: ContentStore
    /// The hash of each upload as far as it was written here, so finishing one need not read it
    /// again; an upload continued on another server is hashed from its file instead.
    private let hashers = Mutex<[String: (offset: Int64, hasher: DigestHasher)]>([:])
    /// Uploads being written by a request now: a second writer is refused, not interleaved.
    private let writing = Mutex<Set<String>>([])

    public init(root: String) throws(BerthError) {
        self.root = root
        content = try ContentStore(root: root)
        try PosixFS.makeDirectories(root + "/uploads")
    }

    func uploadPath(_ id: String) -> String { "\(root)/uploads/\(id)" }

    /// A new, empty upload; returns its ID.
    public func createUpload() throws(BerthError) -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        _ = try PosixFile(path: uploadPath(id), flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        hashers.withLock { $0[id] = (0, DigestHasher(algorithm: "sha256")) }
        return id
    }

    /// Bytes received so far; nil when the upload does not exist.
    public func uploadSize(_ id: String) -> Int64? {
        var info = stat()
        guard stat(uploadPath(id), &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    /// Opens the upload to append at `offset`, which must be where its bytes end.
    public func append(to id: String, at offset: Int64?) throws(BerthError) -> UploadAppender {
        guard let size = uploadSize(id) else { throw .oci(.blobUploadUnknown, "upload \(id) not found") }
        if let offset, offset != size {
            throw .oci(.rangeInvalid, "the upload holds \(size) bytes; a chunk must start at \(size), not \(offset)", status: .requestedRangeNotSatisfiable)
        }
        guard writing.withLock({ $0.insert(id).inserted }) else {
            throw .oci(.blobUploadInvalid, "upload \(id) is being written by another request", status: .conflict)
        }
        do {
            let file = try PosixFile(path: uploadPath(id), flags: O_WRONLY | O_APPEND)
            let cached = hashers.withLock { $0.removeValue(forKey: id) }
            return UploadAppender(storage: self, id: id, file: file, offset: size, hasher: cached?.offset == size ? cached?.hasher : nil)
        } catch {
            _ = writing.withLock { $0.remove(id) }
            throw error
        }
    }

    fileprivate func finished(_ appender: UploadAppender) {
        if let hasher = appender.hasher { hashers.withLock { $0[appender.id] = (appender.offset, hasher) } }
        _ = writing.withLock { $0.remove(appender.id) }
    }

    /// Ends an upload: its bytes must hash to `expected`; then the blob is in place (durably)
    /// and the upload gone. A mismatch removes the upload too — nothing half-written stays.
    public func finish(_ id: String, expected: Digest) throws(BerthError) -> Int64 {
        guard let size = uploadSize(id) else { throw .oci(.blobUploadUnknown, "upload \(id) not found") }
        guard writing.withLock({ $0.insert(id).inserted }) else {
            throw .oci(.blobUploadInvalid, "upload \(id) is being written by another request", status: .conflict)
        }
        defer { _ = writing.withLock { $0.remove(id) } }
        let path = uploadPath(id)
        let cached = hashers.withLock { $0.removeValue(forKey: id) }
        let actual: Digest
        if let cached, cached.offset == size, expected.algorithm == "sha256" {
            actual = cached.hasher.finalize()
        } else {
            actual = try Self.hash(path, algorithm: expected.algorithm)
        }
        guard actual == expected else {
            unlink(path)
            throw .oci(.digestInvalid, "the upload's content is \(actual), not \(expected)")
        }
        let target = content.path(for: expected)
        if content.contains(expected) {
            unlink(path)
            return size
        }
        let file = try PosixFile(path: path, flags: O_RDONLY)
        try file.sync()
        try PosixFS.makeDirectories("\(content.root)/blobs/\(expected.algorithm)")
        guard rename(path, target) == 0 else { throw BerthError.posix("rename", target) }
        return size
    }

    public func cancel(_ id: String) {
        hashers.withLock { _ = $0.removeValue(forKey: id) }
        unlink(uploadPath(id))
    }

    /// Every upload file's ID, for the garbage collector (which decides which are abandoned).
    public func uploadIDs() -> [String] { (try? PosixFS.list(root + "/uploads")) ?? [] }

    static func hash(_ path: String, algorithm: String) throws(BerthError) -> Digest {
        let file = try PosixFile(path: path, flags: O_RDONLY)
        var hasher = DigestHasher(algorithm: algorithm)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withMutableBytes { (raw) throws(BerthError) in try file.read(into: raw) }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return hasher.finalize()
    }
}

/// One request's bytes going into an upload. `close` (or deinit) keeps what was written: a
/// connection broken mid-chunk leaves the upload holding every byte that arrived.
public final class UploadAppender {
    let storage: BlobStorage
    let id: String
    let file: PosixFile
    public private(set) var offset: Int64
    fileprivate var hasher: DigestHasher?
    private var closed = false

    fileprivate init(storage: BlobStorage, id: String, file: PosixFile, offset: Int64, hasher: DigestHasher?) {
        self.storage = storage
        self.id = id
        self.file = file
        self.offset = offset
        self.hasher = hasher
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        try file.write(bytes)
        hasher?.update(bytes)
        offset += Int64(bytes.count)
    }

    public func close() {
        guard !closed else { return }
        closed = true
        storage.finished(self)
    }

    deinit { close() }
}
