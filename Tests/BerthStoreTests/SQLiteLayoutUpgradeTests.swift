import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthStore

/// A store file in the layout older Berth versions wrote (`kv` and `log` as `WITHOUT ROWID`
/// tables on 4 KB pages) opens with everything it held: current values, revisions, history
/// for past reads and watches, compaction state and leases. The file is upgraded in place.
@Suite("SQLite store layout upgrade", .blockingAllowed)
struct SQLiteLayoutUpgradeTests {
    /// What the previous layout's schema said for the two tables (from Berth before the upgrade).
    static let legacyTables = """
        CREATE TABLE kv_legacy(
            key TEXT PRIMARY KEY, value BLOB NOT NULL, create_rev INTEGER NOT NULL,
            mod_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE TABLE log_legacy(
            rev INTEGER NOT NULL, sub INTEGER NOT NULL, key TEXT NOT NULL, deleted INTEGER NOT NULL,
            value BLOB NOT NULL, create_rev INTEGER NOT NULL, version INTEGER NOT NULL,
            lease INTEGER NOT NULL, prev_rev INTEGER NOT NULL,
            PRIMARY KEY(rev, sub)
        ) WITHOUT ROWID;
        """

    /// Rewrites a current-layout file into the legacy one, as a file from an older Berth.
    static func downgrade(_ path: String) throws {
        let connection = try SQLiteConnection(path: path)
        try connection.execute("""
            PRAGMA journal_mode=DELETE;
            PRAGMA page_size=4096;
            BEGIN;
            \(legacyTables)
            INSERT INTO kv_legacy SELECT key, value, create_rev, mod_rev, version, lease FROM kv;
            INSERT INTO log_legacy SELECT rev, sub, key, deleted, value, create_rev, version, lease, prev_rev FROM log;
            DROP TABLE kv;
            DROP TABLE log;
            ALTER TABLE kv_legacy RENAME TO kv;
            ALTER TABLE log_legacy RENAME TO log;
            CREATE INDEX kv_lease ON kv(lease) WHERE lease != 0;
            COMMIT;
            VACUUM;
            PRAGMA journal_mode=WAL;
            """)
    }

    static func layout(_ path: String) throws -> (legacy: Set<String>, pageSize: Int64) {
        let connection = try SQLiteConnection(path: path)
        var pageSize: Int64 = 0
        try connection.query("PRAGMA page_size") { row in pageSize = row.integer(0) }
        return (try SQLiteLayout.legacyTables(connection), pageSize)
    }

    func bytes(_ count: Int, _ seed: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }

    @Test("an older file opens with all its state and history, in the current layout")
    func upgradesInPlace() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-layout-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.db").path

        // Objects of the sizes that used to spill into overflow pages, changed, deleted and
        // compacted, and one under a lease.
        var store: SQLiteStore? = try SQLiteStore(path: path)
        for index in 0..<200 { _ = try await store!.put("/registry/pods/default/p\(index)", bytes(1_200 + index * 10, index)) }
        let early = try await store!.currentRevision()
        for index in stride(from: 0, to: 200, by: 3) { _ = try await store!.put("/registry/pods/default/p\(index)", bytes(2_500, index + 1)) }
        for index in stride(from: 1, to: 200, by: 7) { _ = try await store!.delete("/registry/pods/default/p\(index)") }
        try await store!.compact(upTo: early - 50)
        let lease = try await store!.grantLease(ttlSeconds: 600)
        _ = try await store!.txn(if: [], then: [.put(key: "/registry/leases/x", value: bytes(10, 1), lease: lease)], else: [])
        let current = try await store!.list(prefix: "/registry/")
        let past = try await store!.range(from: "/registry/", to: KeyRange.prefixEnd("/registry/"), limit: 0, revision: early)
        let revision = try await store!.currentRevision()
        #expect(try Self.layout(path) == (legacy: [], pageSize: Int64(SQLiteSchema.pageSize)), "a new file starts in the current layout")
        await store!.close()
        store = nil

        try Self.downgrade(path)
        let before = try Self.layout(path)
        #expect(before.legacy == ["kv", "log"] && before.pageSize == 4096, "the fixture is in the old layout")

        let reopened = try SQLiteStore(path: path)
        let after = try Self.layout(path)
        #expect(after.legacy.isEmpty)
        #expect(after.pageSize == Int64(SQLiteSchema.pageSize))
        #expect(try await reopened.currentRevision() == revision)
        #expect(try await reopened.list(prefix: "/registry/").kvs == current.kvs)
        #expect(try await reopened.range(from: "/registry/", to: KeyRange.prefixEnd("/registry/"), limit: 0, revision: early).kvs == past.kvs)
        #expect(try await reopened.get("/registry/leases/x")?.lease == lease)
        // A watch resumed from before the changes replays them, then sees new ones.
        let stream = try await reopened.watch(prefix: "/registry/pods/", after: early)
        let next = try await reopened.put("/registry/pods/default/new", bytes(1_500, 9))
        var replayed: [Int64] = []
        outer: for try await batch in stream {
            for event in batch {
                replayed.append(event.kv.modRevision)
                if event.kv.modRevision == next { break outer }
            }
        }
        #expect(replayed == Array((early + 1)...next).filter { $0 != revision }, "every change after the resume point, in order, once")
        await reopened.close()
    }
}
