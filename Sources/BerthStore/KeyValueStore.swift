import BerthCore

/// One stored key with etcd's revision bookkeeping.
public struct KeyValue: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]
    /// Revision of the transaction that created the key (since its last deletion).
    public var createRevision: Int64
    /// Revision of the transaction that last wrote the key.
    public var modRevision: Int64
    /// Number of writes since creation (1 after the create).
    public var version: Int64
    public var lease: Int64

    public init(key: String, value: [UInt8], createRevision: Int64, modRevision: Int64, version: Int64, lease: Int64 = 0) {
        self.key = key
        self.value = value
        self.createRevision = createRevision
        self.modRevision = modRevision
        self.version = version
        self.lease = lease
    }
}

/// A condition a transaction checks before choosing its branch (etcd's `Compare`).
public struct Compare: Sendable, Hashable {
    public enum Target: Sendable, Hashable {
        case modRevision(Int64)
        case createRevision(Int64)
        case version(Int64)
        case value([UInt8])
    }

    public enum Result: Sendable, Hashable { case equal, notEqual, less, greater }

    public var key: String
    public var target: Target
    public var result: Result

    public init(key: String, _ target: Target, _ result: Result = .equal) {
        self.key = key
        self.target = target
        self.result = result
    }

    /// The key does not exist (its create revision is 0).
    public static func absent(_ key: String) -> Compare { Compare(key: key, .createRevision(0)) }
    /// The key was last written at this revision.
    public static func unchanged(_ key: String, since revision: Int64) -> Compare { Compare(key: key, .modRevision(revision)) }

    /// Evaluates against the key's current state (`nil` when absent: all revisions 0).
    public func holds(for current: KeyValue?) -> Bool {
        func order<T: Comparable>(_ actual: T, _ expected: T) -> Bool {
            switch result {
            case .equal: actual == expected
            case .notEqual: actual != expected
            case .less: actual < expected
            case .greater: actual > expected
            }
        }
        switch target {
        case .modRevision(let expected): return order(current?.modRevision ?? 0, expected)
        case .createRevision(let expected): return order(current?.createRevision ?? 0, expected)
        case .version(let expected): return order(current?.version ?? 0, expected)
        case .value(let expected):
            guard let current else { return false }
            return order(current.value.lexicographicallyPrecedes(expected) ? -1 : (current.value == expected ? 0 : 1), 0)
        }
    }
}

/// One step of a transaction branch.
public enum Operation: Sendable, Hashable {
    case put(key: String, value: [UInt8], lease: Int64 = 0)
    case delete(key: String)
    /// Deletes every key starting with the prefix.
    case deletePrefix(String)
    case get(key: String)
}

public enum OperationResult: Sendable, Hashable {
    case put(previous: KeyValue?)
    case delete(deleted: [KeyValue])
    case get(KeyValue?)
}

public struct TxnResult: Sendable {
    public var succeeded: Bool
    /// The store revision after the transaction (unchanged when nothing was written).
    public var revision: Int64
    public var results: [OperationResult]

    public init(succeeded: Bool, revision: Int64, results: [OperationResult]) {
        self.succeeded = succeeded
        self.revision = revision
        self.results = results
    }
}

public struct RangeResult: Sendable {
    public var kvs: [KeyValue]
    /// The store revision the read observed.
    public var revision: Int64
    /// More keys exist past the limit.
    public var more: Bool

    public init(kvs: [KeyValue], revision: Int64, more: Bool) {
        self.kvs = kvs
        self.revision = revision
        self.more = more
    }
}

/// Ordered batches of watch events.
public typealias WatchStream = AsyncThrowingStream<[WatchEvent], any Error>

public struct WatchEvent: Sendable, Hashable {
    public enum Kind: Sendable, Hashable { case put, delete }
    public var kind: Kind
    /// For a put, the new state; for a delete, the key with `modRevision` = the deleting revision
    /// and the last value (so consumers can tell what was removed).
    public var kv: KeyValue
    public var previous: KeyValue?

    public init(kind: Kind, kv: KeyValue, previous: KeyValue?) {
        self.kind = kind
        self.kv = kv
        self.previous = previous
    }
}

/// The revisioned key-value contract (DESIGN.md §4): one global monotonically increasing
/// revision, transactions with compare-on-revision, ordered exactly-once watches from any
/// retained revision, compaction, and leases. `SQLiteStore` and `EtcdStore` implement it.
public protocol KeyValueStore: Sendable {
    /// Keys in `[key, end)`; `end == nil` reads the single key. `limit` 0 means no limit.
    /// `revision` > 0 reads the keys as they were at that revision (what a paginated list's
    /// later pages need to stay one consistent snapshot); `.gone` when it has been compacted.
    /// The result's `revision` is the store's current one either way.
    func range(from key: String, to end: String?, limit: Int, revision: Int64) async throws(BerthError) -> RangeResult
    func txn(if compares: [Compare], then success: [Operation], else failure: [Operation]) async throws(BerthError) -> TxnResult
    /// Every change to keys with the prefix after `revision`, in order, in batches (what one
    /// commit or one etcd message carried), so a busy watcher wakes once per batch, not per
    /// event. Throws `.gone` when `revision` is below the compacted revision.
    func watch(prefix: String, after revision: Int64) async throws(BerthError) -> WatchStream
    /// The same events, handed to `receiver` as they are committed (see `WatchReceiver`).
    func subscribe(prefix: String, after revision: Int64, receiver: WatchReceiver) async throws(BerthError) -> WatchSubscription
    /// True when every commit reaches subscribers before the write that made it is
    /// acknowledged, so an in-memory copy fed by `subscribe` is never behind an acknowledged
    /// write (see `PrefixMirror`). False unless a store says so.
    var publishesBeforeAcknowledging: Bool { get }
    /// Drops history below `revision`, keeping what reads at `revision` or later need (as etcd
    /// does); watches from below it and reads at revisions below it answer 410 Gone.
    func compact(upTo revision: Int64) async throws(BerthError)
    func currentRevision() async throws(BerthError) -> Int64
    func grantLease(ttlSeconds: Int64) async throws(BerthError) -> Int64
    func keepAlive(lease: Int64) async throws(BerthError)
    func revokeLease(_ lease: Int64) async throws(BerthError)
    func close() async
}

extension KeyValueStore {
    public var publishesBeforeAcknowledging: Bool { false }

    public func range(from key: String, to end: String?, limit: Int) async throws(BerthError) -> RangeResult {
        try await range(from: key, to: end, limit: limit, revision: 0)
    }

    public func get(_ key: String) async throws(BerthError) -> KeyValue? {
        try await range(from: key, to: nil, limit: 1).kvs.first
    }

    public func list(prefix: String, limit: Int = 0) async throws(BerthError) -> RangeResult {
        try await range(from: prefix, to: KeyRange.prefixEnd(prefix), limit: limit)
    }

    public func put(_ key: String, _ value: [UInt8]) async throws(BerthError) -> Int64 {
        try await txn(if: [], then: [.put(key: key, value: value)], else: []).revision
    }

    @discardableResult
    public func delete(_ key: String) async throws(BerthError) -> Int64 {
        try await txn(if: [], then: [.delete(key: key)], else: []).revision
    }
}

public enum KeyRange {
    /// The smallest key greater than every key with this prefix (etcd's `prefixEnd`).
    public static func prefixEnd(_ prefix: String) -> String {
        var bytes = Array(prefix.utf8)
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\u{10FFFF}"
    }
}
