import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Testing

/// The revisioned key-value contract, run against every store implementation.
@Suite("store contract", .serialized, .blockingAllowed)
struct StoreContractTests {
    func withStore(_ kind: StoreKind, _ body: (any KeyValueStore) async throws -> Void) async throws {
        let fixture = try await StoreFixture.make(kind)
        do {
            try await body(fixture.store)
        } catch {
            await fixture.close()
            throw error
        }
        await fixture.close()
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test(arguments: StoreKind.allCases)
    func putAndGetTrackRevisions(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = try await store.put("/t/a", bytes("1"))
            let second = try await store.put("/t/a", bytes("2"))
            #expect(second == first + 1)
            let kv = try #require(try await store.get("/t/a"))
            #expect(kv.value == bytes("2"))
            #expect(kv.createRevision == first)
            #expect(kv.modRevision == second)
            #expect(kv.version == 2)
            #expect(try await store.get("/t/missing") == nil)
            #expect(try await store.currentRevision() == second)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func transactionsCompareOnRevision(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let created = try await store.txn(if: [.absent("/t/k")], then: [.put(key: "/t/k", value: bytes("v1"))], else: [.get(key: "/t/k")])
            #expect(created.succeeded)
            let again = try await store.txn(if: [.absent("/t/k")], then: [.put(key: "/t/k", value: bytes("v2"))], else: [.get(key: "/t/k")])
            #expect(!again.succeeded)
            guard case .get(let existing) = again.results.first else { Issue.record("expected a get result"); return }
            #expect(existing?.value == bytes("v1"))
            #expect(again.revision == created.revision)
            let stale = try await store.txn(if: [.unchanged("/t/k", since: created.revision - 1)], then: [.put(key: "/t/k", value: bytes("x"))], else: [])
            #expect(!stale.succeeded)
            let fresh = try await store.txn(if: [.unchanged("/t/k", since: created.revision)], then: [.put(key: "/t/k", value: bytes("v3"))], else: [])
            #expect(fresh.succeeded)
            guard case .put(let previous) = fresh.results.first else { Issue.record("expected a put result"); return }
            #expect(previous?.value == bytes("v1"))
            #expect(try await store.get("/t/k")?.value == bytes("v3"))
        }
    }

    @Test(arguments: StoreKind.allCases)
    func rangesByPrefixWithLimit(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for index in 0..<5 { _ = try await store.put("/t/list/\(index)", bytes("\(index)")) }
            _ = try await store.put("/t/lisu", bytes("outside"))
            let all = try await store.list(prefix: "/t/list/")
            #expect(all.kvs.map(\.key) == (0..<5).map { "/t/list/\($0)" })
            #expect(!all.more)
            let page = try await store.list(prefix: "/t/list/", limit: 2)
            #expect(page.kvs.count == 2)
            #expect(page.more)
            let rest = try await store.range(from: page.kvs.last!.key + "\u{0}", to: KeyRange.prefixEnd("/t/list/"), limit: 10)
            #expect(rest.kvs.map(\.key) == (2..<5).map { "/t/list/\($0)" })
        }
    }

    /// Reads at a past revision see that snapshot: old values, deleted keys, not later keys;
    /// compaction keeps what reads at or above it need and refuses reads below it.
    @Test(arguments: StoreKind.allCases)
    func readsAtAPastRevisionSeeThatSnapshot(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let end = KeyRange.prefixEnd("/t/snap/")
            for name in ["a", "b", "c", "d"] { _ = try await store.put("/t/snap/\(name)", bytes(name + "1")) }
            _ = try await store.put("/t/snap/b", bytes("b2"))
            let snapshot = try await store.currentRevision()
            func values(_ result: RangeResult) -> [String] { result.kvs.map { String(decoding: $0.value, as: UTF8.self) } }
            // After the snapshot: b and a change, c goes, e and a new c2 arrive, d is untouched.
            _ = try await store.put("/t/snap/b", bytes("b3"))
            _ = try await store.put("/t/snap/a", bytes("a2"))
            _ = try await store.delete("/t/snap/c")
            _ = try await store.put("/t/snap/e", bytes("e1"))
            _ = try await store.put("/t/snap/c", bytes("c2"))
            let then = try await store.range(from: "/t/snap/", to: end, limit: 0, revision: snapshot)
            #expect(values(then) == ["a1", "b2", "c1", "d1"])
            #expect(then.kvs.map(\.modRevision) == [snapshot - 4, snapshot, snapshot - 2, snapshot - 1])
            #expect(then.kvs.first { $0.key == "/t/snap/b" }?.version == 2)
            #expect(then.kvs.first { $0.key == "/t/snap/c" }?.createRevision == snapshot - 2)
            let page = try await store.range(from: "/t/snap/", to: end, limit: 2, revision: snapshot)
            #expect(values(page) == ["a1", "b2"] && page.more)
            let rest = try await store.range(from: "/t/snap/b\u{0}", to: end, limit: 2, revision: snapshot)
            #expect(values(rest) == ["c1", "d1"] && !rest.more)
            #expect(try await store.range(from: "/t/snap/c", to: nil, limit: 1, revision: snapshot).kvs.first?.value == bytes("c1"))
            #expect(try await store.range(from: "/t/snap/e", to: nil, limit: 1, revision: snapshot).kvs.isEmpty)
            #expect(values(try await store.range(from: "/t/snap/", to: end, limit: 0)) == ["a2", "b3", "c2", "d1", "e1"])

            // Compacting at the snapshot keeps it readable; compacting past it does not.
            try await store.compact(upTo: snapshot)
            #expect(values(try await store.range(from: "/t/snap/", to: end, limit: 0, revision: snapshot)) == ["a1", "b2", "c1", "d1"])
            let current = try await store.currentRevision()
            try await store.compact(upTo: current)
            do {
                _ = try await store.range(from: "/t/snap/", to: end, limit: 0, revision: snapshot)
                Issue.record("a read below the compacted revision succeeded")
            } catch {
                #expect((error as? BerthError)?.code == .gone, "\(error)")
            }
            #expect(values(try await store.range(from: "/t/snap/", to: end, limit: 0, revision: current)) == ["a2", "b3", "c2", "d1", "e1"])
            _ = try await store.put("/t/snap/d", bytes("d2"))
            #expect(values(try await store.range(from: "/t/snap/", to: end, limit: 0, revision: current)) == ["a2", "b3", "c2", "d1", "e1"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func deletesSingleKeysAndPrefixes(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            for index in 0..<3 { _ = try await store.put("/t/d/\(index)", bytes("x")) }
            _ = try await store.delete("/t/d/0")
            #expect(try await store.get("/t/d/0") == nil)
            let result = try await store.txn(if: [], then: [.deletePrefix("/t/d/")], else: [])
            guard case .delete(let deleted) = result.results.first else { Issue.record("expected a delete result"); return }
            #expect(deleted.map(\.key).sorted() == ["/t/d/1", "/t/d/2"])
            #expect(try await store.list(prefix: "/t/d/").kvs.isEmpty)
            // Re-creating a deleted key starts a new life: version 1, new create revision.
            let revision = try await store.put("/t/d/1", bytes("again"))
            let kv = try #require(try await store.get("/t/d/1"))
            #expect(kv.version == 1)
            #expect(kv.createRevision == revision)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func watchDeliversEveryChangeInOrderOnce(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let start = try await store.put("/t/w/seed", bytes("0"))
            // History before the watch starts, then live changes after it.
            _ = try await store.put("/t/w/a", bytes("1"))
            _ = try await store.put("/t/x/other", bytes("ignored"))
            let stream = try await store.watch(prefix: "/t/w/", after: start)
            _ = try await store.put("/t/w/a", bytes("2"))
            _ = try await store.delete("/t/w/a")
            _ = try await store.put("/t/w/b", bytes("3"))
            var seen: [(WatchEvent.Kind, String, String, Int64)] = []
            outer: for try await batch in stream {
                for event in batch {
                    seen.append((event.kind, event.kv.key, String(decoding: event.kv.value, as: UTF8.self), event.kv.modRevision))
                    if seen.count == 4 { break outer }
                }
            }
            #expect(seen.map(\.0) == [.put, .put, .delete, .put])
            #expect(seen.map(\.1) == ["/t/w/a", "/t/w/a", "/t/w/a", "/t/w/b"])
            #expect(seen.map(\.2) == ["1", "2", "2", "3"])
            let revisions = seen.map(\.3)
            #expect(revisions == revisions.sorted() && Set(revisions).count == 4)
            #expect(revisions.first! > start)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func watchBelowCompactionIsGone(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = try await store.put("/t/c", bytes("1"))
            _ = try await store.put("/t/c", bytes("2"))
            let last = try await store.put("/t/c", bytes("3"))
            try await store.compact(upTo: last - 1)
            await #expect(throws: BerthError.self) {
                _ = try await store.watch(prefix: "/t/", after: first)
            }
            do {
                _ = try await store.watch(prefix: "/t/", after: first)
            } catch {
                #expect((error as? BerthError)?.code == .gone)
            }
            let stream = try await store.watch(prefix: "/t/", after: last - 1)
            var iterator = stream.makeAsyncIterator()
            let batch = try await iterator.next()
            #expect(batch?.first?.kv.modRevision == last)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func leasesExpireAndRevokeTheirKeys(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let revoked = try await store.grantLease(ttlSeconds: 30)
            _ = try await store.txn(if: [], then: [.put(key: "/t/l/revoked", value: bytes("x"), lease: revoked)], else: [])
            try await store.keepAlive(lease: revoked)
            try await store.revokeLease(revoked)
            #expect(try await store.get("/t/l/revoked") == nil)

            let expiring = try await store.grantLease(ttlSeconds: 1)
            _ = try await store.txn(if: [], then: [.put(key: "/t/l/expiring", value: bytes("x"), lease: expiring)], else: [])
            #expect(try await store.get("/t/l/expiring")?.lease == expiring)
            var gone = false
            for _ in 0..<60 where !gone {
                try await Task.sleep(for: .milliseconds(100))
                gone = try await store.get("/t/l/expiring") == nil
            }
            #expect(gone)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentWritersGetDistinctRevisionsAndWatchSeesAll(_ kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let start = try await store.currentRevision()
            let stream = try await store.watch(prefix: "/t/p/", after: start)
            let writers = 200
            let revisions = try await withThrowingTaskGroup(of: Int64.self) { group in
                for index in 0..<writers {
                    group.addTask {
                        try await store.txn(if: [.absent("/t/p/\(index)")], then: [.put(key: "/t/p/\(index)", value: [UInt8(index % 256)])], else: []).revision
                    }
                }
                var all: [Int64] = []
                for try await revision in group { all.append(revision) }
                return all
            }
            #expect(Set(revisions).count == writers)
            var seen = Set<String>()
            var last: Int64 = 0
            outer: for try await batch in stream {
                for event in batch {
                    #expect(event.kv.modRevision > last)
                    last = event.kv.modRevision
                    seen.insert(event.kv.key)
                    if seen.count == writers { break outer }
                }
            }
            #expect(seen.count == writers)
        }
    }
}
