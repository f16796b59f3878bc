import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Testing

/// The in-memory copy admission reads: on SQLite it holds every acknowledged write the moment
/// the write returns (no waiting), follows updates and deletions, and ignores other prefixes;
/// on etcd, whose watch trails its acknowledgements, it never answers, so callers read the store.
@Suite("store: prefix mirror", .serialized, .blockingAllowed)
struct PrefixMirrorTests {
    func waitUntilLive(_ mirror: PrefixMirror, _ prefix: String) async throws {
        for _ in 0..<200 where mirror.values(under: prefix) == nil { try await Task.sleep(for: .milliseconds(10)) }
    }

    @Test func sqliteMirrorHasEveryAcknowledgedWriteAtOnce() async throws {
        let fixture = try await StoreFixture.make(.sqlite)
        let store = fixture.store
        _ = try await store.put("/m/a/before", Array("0".utf8))
        let mirror = PrefixMirror(prefixes: ["/m/a/", "/m/b/"])
        let task = Task { await mirror.run(store) }
        try await waitUntilLive(mirror, "/m/a/")
        #expect(mirror.values(under: "/m/a/")?.map(\.key) == ["/m/a/before"])

        for index in 0..<50 {
            let revision = try await store.put("/m/a/\(index)", Array("v\(index)".utf8))
            // Read right after the acknowledgement: no sleep, no retry.
            let found = mirror.value(at: "/m/a/\(index)", under: "/m/a/")
            #expect(found??.modRevision == revision)
            #expect(found??.value == Array("v\(index)".utf8))
        }
        _ = try await store.put("/m/a/3", Array("changed".utf8))
        #expect(mirror.value(at: "/m/a/3", under: "/m/a/")??.value == Array("changed".utf8))
        try await store.delete("/m/a/4")
        let deleted = mirror.value(at: "/m/a/4", under: "/m/a/")
        #expect(deleted != nil && deleted! == nil, "known absent, not unknown")
        _ = try await store.put("/m/c/x", Array("x".utf8))
        #expect(mirror.values(under: "/m/a/")?.count == 50)
        #expect(mirror.values(under: "/m/a/")?.map(\.key) == (["/m/a/before"] + (0..<50).filter { $0 != 4 }.map { "/m/a/\($0)" }).sorted())
        #expect(mirror.values(under: "/m/b/")?.isEmpty == true)
        #expect(mirror.values(under: "/m/c/") == nil, "a prefix it does not follow")
        task.cancel()
        await task.value
        await fixture.close()
    }

    @Test func etcdMirrorNeverAnswers() async throws {
        let fixture = try await StoreFixture.make(.etcd)
        let store = fixture.store
        #expect(store.publishesBeforeAcknowledging == false)
        let mirror = PrefixMirror(prefixes: ["/m/a/"])
        await mirror.run(store)  // returns at once for a store it cannot serve
        _ = try await store.put("/m/a/x", Array("x".utf8))
        #expect(mirror.values(under: "/m/a/") == nil)
        #expect(mirror.value(at: "/m/a/x", under: "/m/a/") == nil)
        await fixture.close()
    }
}
