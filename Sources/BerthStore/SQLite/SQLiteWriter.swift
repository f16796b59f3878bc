import BerthCore
import Foundation

/// The single writer of a `SQLiteStore`. Callers enqueue requests; a dedicated thread takes
/// everything queued, applies it in one SQLite transaction (each request in its own savepoint,
/// so one failing request does not undo the others) and commits once: concurrent writers
/// share one fsync (group commit). Only after the commit are callers answered and events
/// published, so an acknowledged write is on disk.
final class SQLiteWriter: @unchecked Sendable {
    enum Request {
        case txn(compares: [Compare], success: [Operation], failure: [Operation], reply: @Sendable (Result<TxnResult, BerthError>) -> Void)
        case compact(revision: Int64, reply: @Sendable (Result<Void, BerthError>) -> Void)
        case grantLease(ttl: Int64, reply: @Sendable (Result<Int64, BerthError>) -> Void)
        case revokeLease(id: Int64, reply: @Sendable (Result<Void, BerthError>) -> Void)
        case expireLeases([Int64])
    }

    private let connection: SQLiteConnection
    private let hub: WatchHub
    private let lock: SQLiteWriterLock
    private let condition = NSCondition()
    private var pending: [Request] = []
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Owned by the writer thread only.
    private var revision: Int64
    private(set) var compacted: Int64

    init(path: String, hub: WatchHub) throws(BerthError) {
        lock = try SQLiteWriterLock(storePath: path)
        connection = try SQLiteConnection(path: path)
        try Self.checkIntegrity(connection, path: path)
        try SQLiteLayout.upgrade(connection, path: path)
        try connection.execute(SQLiteSchema.statements)
        revision = try Self.meta(connection, "revision")
        compacted = try Self.meta(connection, "compacted")
        self.hub = hub
    }

    /// Refuses to serve a damaged file (SQLite's `quick_check`: every page and index entry
    /// read once, about 0.2 s per 50 MB here): a server that started on it would hand out
    /// wrong answers or fail at random later.
    static func checkIntegrity(_ connection: SQLiteConnection, path: String) throws(BerthError) {
        var problems: [String] = []
        do {
            try connection.query("PRAGMA quick_check(5)") { row in problems.append(row.text(0)) }
        } catch {
            // `failure` already words a damaged file; anything else is said here.
            if error.message.contains("is damaged") { throw error }
            throw BerthError(.internalError, "the store file \(path) is damaged (\(error.message)); \(SQLiteConnection.restoreAdvice)")
        }
        guard problems == ["ok"] else {
            throw BerthError(.internalError, "the store file \(path) is damaged (\(problems.joined(separator: "; "))); \(SQLiteConnection.restoreAdvice)")
        }
    }

    static func meta(_ connection: SQLiteConnection, _ name: String) throws(BerthError) -> Int64 {
        var value: Int64 = 0
        try connection.query(SQLiteSchema.readMeta, [.text(name)]) { row in value = row.integer(0) }
        return value
    }

    var startRevision: Int64 { revision }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "berth.store.sqlite-writer"
        self.thread = thread
        thread.start()
    }

    func submit(_ request: Request) {
        condition.lock()
        if stopping {
            condition.unlock()
            Self.fail(request, BerthError(.unavailable, "failed to write: the store is closed"))
            return
        }
        pending.append(request)
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
        if thread != nil { finished.wait() }
        // The thread's closure holds the writer, and the writer the thread: without this the
        // connection (and the file) stayed open for the life of the process.
        thread = nil
        connection.close()
        lock.release()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            let batch = pending
            pending.removeAll(keepingCapacity: true)
            let done = stopping && batch.isEmpty
            condition.unlock()
            if done { break }
            process(batch)
        }
        finished.signal()
    }

    private static func fail(_ request: Request, _ error: BerthError) {
        switch request {
        case .txn(_, _, _, let reply): reply(.failure(error))
        case .compact(_, let reply): reply(.failure(error))
        case .grantLease(_, let reply): reply(.failure(error))
        case .revokeLease(_, let reply): reply(.failure(error))
        case .expireLeases: break
        }
    }

    /// Applies a batch in one transaction. Replies and events wait until COMMIT succeeded.
    private func process(_ batch: [Request]) {
        let startRevision = revision
        var replies: [() -> Void] = []
        var published: [(events: [WatchEvent], revision: Int64)] = []
        do {
            try connection.execute("BEGIN IMMEDIATE")
        } catch {
            for request in batch { Self.fail(request, error) }
            return
        }
        for request in batch {
            do {
                try connection.execute("SAVEPOINT request")
                let before = revision
                do {
                    let outcome = try apply(request)
                    try connection.execute("RELEASE request")
                    replies.append(outcome.reply)
                    if !outcome.events.isEmpty { published.append((outcome.events, revision)) }
                } catch {
                    revision = before
                    try connection.execute("ROLLBACK TO request")
                    try connection.execute("RELEASE request")
                    replies.append { Self.fail(request, error) }
                }
            } catch {
                replies.append { Self.fail(request, error) }
            }
        }
        do {
            try connection.query(SQLiteSchema.writeMeta, [.integer(revision), .text("revision")])
            try connection.execute("COMMIT")
        } catch {
            try? connection.execute("ROLLBACK")
            revision = startRevision
            // A full disk keeps its 507; other commit failures are the store being unavailable.
            let failure = error.code == .insufficientStorage ? error : BerthError(.unavailable, "failed to commit: \(error.message)")
            for request in batch { Self.fail(request, failure) }
            return
        }
        // One publication per commit: watchers wake once for the whole group.
        if !published.isEmpty { hub.publish(published.flatMap(\.events), revision: revision) }
        for reply in replies { reply() }
    }

    private struct Outcome {
        var reply: () -> Void
        var events: [WatchEvent] = []
    }

    private func apply(_ request: Request) throws(BerthError) -> Outcome {
        switch request {
        case .txn(let compares, let success, let failure, let reply):
            var succeeded = true
            for compare in compares where !compare.holds(for: try current(compare.key)) {
                succeeded = false
                break
            }
            let operations = succeeded ? success : failure
            let writes = operations.contains { if case .get = $0 { false } else { true } }
            if writes { revision += 1 }
            var results: [OperationResult] = []
            var events: [WatchEvent] = []
            for operation in operations { results.append(try execute(operation, events: &events)) }
            if writes && events.isEmpty { revision -= 1 }
            let result = TxnResult(succeeded: succeeded, revision: revision, results: results)
            return Outcome(reply: { reply(.success(result)) }, events: events)
        case .compact(let target, let reply):
            guard target <= revision else {
                throw BerthError(.badRequest, "failed to compact: revision \(target) is in the future (current \(revision))")
            }
            if target > compacted {
                try SQLiteHistory.compact(connection, from: compacted, to: target)
                try connection.query(SQLiteSchema.writeMeta, [.integer(target), .text("compacted")])
                compacted = target
            }
            return Outcome(reply: { reply(.success(())) })
        case .grantLease(let ttl, let reply):
            let id = try Self.meta(connection, "lease_seq") + 1
            try connection.query(SQLiteSchema.writeMeta, [.integer(id), .text("lease_seq")])
            try connection.query("INSERT INTO leases(id, ttl) VALUES (?, ?)", [.integer(id), .integer(ttl)])
            return Outcome(reply: { reply(.success(id)) })
        case .revokeLease(let id, let reply):
            let events = try deleteLeaseKeys([id])
            return Outcome(reply: { reply(.success(())) }, events: events)
        case .expireLeases(let ids):
            return Outcome(reply: {}, events: try deleteLeaseKeys(ids))
        }
    }

    private func deleteLeaseKeys(_ ids: [Int64]) throws(BerthError) -> [WatchEvent] {
        var keys: [String] = []
        for id in ids {
            try connection.query("SELECT key FROM kv WHERE lease = ?", [.integer(id)]) { row in keys.append(row.text(0)) }
            try connection.query("DELETE FROM leases WHERE id = ?", [.integer(id)])
        }
        guard !keys.isEmpty else { return [] }
        revision += 1
        var events: [WatchEvent] = []
        for key in keys { _ = try execute(.delete(key: key), events: &events) }
        return events
    }

    private func current(_ key: String) throws(BerthError) -> KeyValue? {
        var found: KeyValue?
        try connection.query(SQLiteSchema.selectKey, [.text(key)]) { row in found = SQLiteSchema.keyValue(row) }
        return found
    }

    private func execute(_ operation: Operation, events: inout [WatchEvent]) throws(BerthError) -> OperationResult {
        switch operation {
        case .get(let key):
            return .get(try current(key))
        case .put(let key, let value, let lease):
            if lease != 0 {
                var exists = false
                try connection.query("SELECT 1 FROM leases WHERE id = ?", [.integer(lease)]) { _ in exists = true }
                if !exists { throw BerthError(.notFound, "failed to put \(key): lease \(lease) not found") }
            }
            let previous = try current(key)
            let kv = KeyValue(key: key, value: value, createRevision: previous?.createRevision ?? revision, modRevision: revision,
                              version: (previous?.version ?? 0) + 1, lease: lease)
            try connection.query(SQLiteSchema.upsert, [.text(key), .blob(value), .integer(kv.createRevision), .integer(revision), .integer(kv.version), .integer(lease)])
            try log(kv, deleted: false, sub: events.count, previousRevision: previous?.modRevision ?? 0)
            events.append(WatchEvent(kind: .put, kv: kv, previous: previous))
            return .put(previous: previous)
        case .delete(let key):
            guard let previous = try current(key) else { return .delete(deleted: []) }
            try connection.query(SQLiteSchema.deleteKey, [.text(key)])
            try recordDelete(previous, events: &events)
            return .delete(deleted: [previous])
        case .deletePrefix(let prefix):
            var deleted: [KeyValue] = []
            try connection.query(SQLiteSchema.selectPrefixKeys, [.text(prefix), .text(KeyRange.prefixEnd(prefix))]) { row in
                deleted.append(SQLiteSchema.keyValue(row))
            }
            for previous in deleted {
                try connection.query(SQLiteSchema.deleteKey, [.text(previous.key)])
                try recordDelete(previous, events: &events)
            }
            return .delete(deleted: deleted)
        }
    }

    private func recordDelete(_ previous: KeyValue, events: inout [WatchEvent]) throws(BerthError) {
        var tombstone = previous
        tombstone.modRevision = revision
        tombstone.version = 0
        try log(tombstone, deleted: true, sub: events.count, previousRevision: previous.modRevision)
        events.append(WatchEvent(kind: .delete, kv: tombstone, previous: previous))
    }

    private func log(_ kv: KeyValue, deleted: Bool, sub: Int, previousRevision: Int64) throws(BerthError) {
        try connection.query(SQLiteSchema.appendLog, [
            .integer(kv.modRevision), .integer(Int64(sub)), .text(kv.key), .integer(deleted ? 1 : 0), .blob(kv.value),
            .integer(kv.createRevision), .integer(kv.version), .integer(kv.lease), .integer(previousRevision),
        ])
    }
}
