import BerthCore
import Foundation
import Synchronization

/// The embedded default store: SQLite in WAL mode with synchronous commits, one writer thread
/// doing group commit, a small pool of reader connections, and an in-memory watch hub fed
/// after each commit (history for resuming watches comes from the `log` table).
public final class SQLiteStore: KeyValueStore {
    public let path: String
    private let hub: WatchHub
    private let writer: SQLiteWriter
    private let readers: [ReaderSlot]
    private let nextReader = Atomic<Int>(0)
    private let leaseDeadlines = Mutex<[Int64: (ttl: Int64, deadline: ContinuousClock.Instant)]>([:])
    private nonisolated(unsafe) let timer: DispatchSourceTimer

    /// A reader connection and the lock that gives it to one thread at a time.
    final class ReaderSlot: @unchecked Sendable {
        let lock = NSLock()
        let connection: SQLiteConnection
        init(connection: SQLiteConnection) { self.connection = connection }
    }

    public init(path: String, readers: Int = 4) throws(BerthError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let hub = WatchHub(revision: 0)
        let writer = try SQLiteWriter(path: path, hub: hub)
        hub.publish([], revision: writer.startRevision)
        var pool: [ReaderSlot] = []
        for _ in 0..<max(1, readers) {
            pool.append(ReaderSlot(connection: try SQLiteConnection(path: path)))
        }
        self.hub = hub
        self.writer = writer
        self.readers = pool
        self.timer = DispatchSource.makeTimerSource(queue: .global())
        // Leases survive a restart; their clocks start again, as etcd does after a leader change.
        let now = ContinuousClock.now
        var restored: [Int64: (ttl: Int64, deadline: ContinuousClock.Instant)] = [:]
        try pool[0].connection.query("SELECT id, ttl FROM leases") { row in
            restored[row.integer(0)] = (row.integer(1), now + .seconds(row.integer(1)))
        }
        leaseDeadlines.withLock { $0 = restored }
        writer.start()
        timer.schedule(deadline: .now() + 0.5, repeating: 0.5)
        timer.setEventHandler { [weak self] in self?.expireLeases() }
        timer.resume()
    }

    /// Runs a read in one SQLite read transaction, so the revision and rows agree.
    private func read<T>(_ body: (SQLiteConnection) throws(BerthError) -> T) throws(BerthError) -> T {
        let index = nextReader.wrappingAdd(1, ordering: .relaxed).oldValue % readers.count
        let slot = readers[index]
        slot.lock.lock()
        defer { slot.lock.unlock() }
        // Prepared once per connection (`query` caches statements), not parsed on every read.
        try slot.connection.query("BEGIN")
        defer { try? slot.connection.query("COMMIT") }
        return try body(slot.connection)
    }

    public func range(from key: String, to end: String?, limit: Int, revision past: Int64) async throws(BerthError) -> RangeResult {
        try read { (connection: SQLiteConnection) throws(BerthError) -> RangeResult in
            let revision = try SQLiteWriter.meta(connection, "revision")
            if past > 0 && past < revision {
                let kvs = try SQLiteHistory.range(connection, from: key, to: end, limit: limit, at: past)
                return RangeResult(kvs: kvs.items, revision: revision, more: kvs.more)
            }
            var kvs: [KeyValue] = []
            if let end {
                let fetch = limit > 0 ? Int64(limit) + 1 : -1
                try connection.query(SQLiteSchema.selectRange, [.text(key), .text(end), .integer(fetch)]) { row in
                    kvs.append(SQLiteSchema.keyValue(row))
                }
            } else {
                try connection.query(SQLiteSchema.selectKey, [.text(key)]) { row in kvs.append(SQLiteSchema.keyValue(row)) }
            }
            let more = limit > 0 && kvs.count > limit
            if more { kvs.removeLast() }
            return RangeResult(kvs: kvs, revision: revision, more: more)
        }
    }

    public func txn(if compares: [Compare], then success: [Operation], else failure: [Operation]) async throws(BerthError) -> TxnResult {
        let result: Result<TxnResult, BerthError> = await withCheckedContinuation { continuation in
            writer.submit(.txn(compares: compares, success: success, failure: failure) { continuation.resume(returning: $0) })
        }
        return try result.get()
    }

    public func watch(prefix: String, after revision: Int64) async throws(BerthError) -> WatchStream {
        try hub.subscribe(prefix: prefix, after: revision, replay: history(prefix: prefix, after: revision))
    }

    /// The writer publishes each commit to the hub, which hands it to receivers under its lock,
    /// before it replies to the writes in it.
    public var publishesBeforeAcknowledging: Bool { true }

    public func subscribe(prefix: String, after revision: Int64, receiver: WatchReceiver) async throws(BerthError) -> WatchSubscription {
        try hub.subscribe(prefix: prefix, after: revision, receiver: receiver, replay: history(prefix: prefix, after: revision))
    }

    /// The logged events under `prefix` after `revision`, up to the hub's revision.
    private func history(prefix: String, after revision: Int64) -> (Int64) throws(BerthError) -> [WatchEvent] {
        let end = KeyRange.prefixEnd(prefix)
        return { (upTo: Int64) throws(BerthError) -> [WatchEvent] in
            guard revision < upTo else { return [] }
            return try self.read { (connection: SQLiteConnection) throws(BerthError) -> [WatchEvent] in
                let compacted = try SQLiteWriter.meta(connection, "compacted")
                if revision < compacted {
                    throw BerthError(.gone, "too old resource version: \(revision) (\(compacted))")
                }
                var events: [WatchEvent] = []
                var previousRevisions: [Int64] = []
                try connection.query(SQLiteSchema.selectLog, [.integer(revision), .integer(upTo), .text(prefix), .text(end)]) { row in
                    let deleted = row.integer(2) != 0
                    let kv = KeyValue(key: row.text(1), value: row.blob(3), createRevision: row.integer(4), modRevision: row.integer(0),
                                      version: row.integer(5), lease: row.integer(6))
                    events.append(WatchEvent(kind: deleted ? .delete : .put, kv: kv, previous: nil))
                    previousRevisions.append(row.integer(7))
                }
                for index in events.indices where previousRevisions[index] > 0 {
                    let event = events[index]
                    if event.kind == .delete {
                        var previous = event.kv
                        previous.modRevision = previousRevisions[index]
                        events[index].previous = previous
                        continue
                    }
                    try connection.query(SQLiteSchema.selectLogValue, [.integer(previousRevisions[index]), .text(event.kv.key)]) { row in
                        events[index].previous = KeyValue(key: event.kv.key, value: row.blob(0), createRevision: row.integer(1),
                                                          modRevision: previousRevisions[index], version: row.integer(2), lease: row.integer(3))
                    }
                }
                return events
            }
        }
    }

    public func compact(upTo revision: Int64) async throws(BerthError) {
        let result: Result<Void, BerthError> = await withCheckedContinuation { continuation in
            writer.submit(.compact(revision: revision) { continuation.resume(returning: $0) })
        }
        try result.get()
    }

    public func currentRevision() async throws(BerthError) -> Int64 {
        try read { (connection: SQLiteConnection) throws(BerthError) -> Int64 in try SQLiteWriter.meta(connection, "revision") }
    }

    public func compactedRevision() async throws(BerthError) -> Int64 {
        try read { (connection: SQLiteConnection) throws(BerthError) -> Int64 in try SQLiteWriter.meta(connection, "compacted") }
    }

    public func grantLease(ttlSeconds: Int64) async throws(BerthError) -> Int64 {
        let result: Result<Int64, BerthError> = await withCheckedContinuation { continuation in
            writer.submit(.grantLease(ttl: ttlSeconds) { continuation.resume(returning: $0) })
        }
        let id = try result.get()
        leaseDeadlines.withLock { $0[id] = (ttlSeconds, ContinuousClock.now + .seconds(ttlSeconds)) }
        return id
    }

    public func keepAlive(lease: Int64) async throws(BerthError) {
        let found = leaseDeadlines.withLock { deadlines -> Bool in
            guard let entry = deadlines[lease] else { return false }
            deadlines[lease] = (entry.ttl, ContinuousClock.now + .seconds(entry.ttl))
            return true
        }
        if !found { throw BerthError(.notFound, "failed to keep lease \(lease) alive: lease not found") }
    }

    public func revokeLease(_ lease: Int64) async throws(BerthError) {
        leaseDeadlines.withLock { _ = $0.removeValue(forKey: lease) }
        let result: Result<Void, BerthError> = await withCheckedContinuation { continuation in
            writer.submit(.revokeLease(id: lease) { continuation.resume(returning: $0) })
        }
        try result.get()
    }

    private func expireLeases() {
        let now = ContinuousClock.now
        let expired = leaseDeadlines.withLock { deadlines -> [Int64] in
            let ids = deadlines.filter { $0.value.deadline < now }.map(\.key)
            for id in ids { deadlines.removeValue(forKey: id) }
            return ids
        }
        if !expired.isEmpty { writer.submit(.expireLeases(expired)) }
    }

    public func close() async {
        timer.cancel()
        writer.stop()
        hub.closeAll()
        for slot in readers { slot.lock.withLock { slot.connection.close() } }
    }
}
