import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Synchronization
import Testing

/// Watches through a receiver (what the API server's watch handler uses), on every store:
/// history then live events, in order, once each; a full receiver ends the watch with 410;
/// a cancelled subscription gets nothing more.
@Suite("store contract: watch receivers", .serialized, .blockingAllowed)
struct WatchReceiverContractTests {
    final class Collected: Sendable {
        let state = Mutex<(revisions: [Int64], finished: [String], accept: Bool)>(([], [], true))

        var receiver: WatchReceiver {
            WatchReceiver(deliver: { batch in
                self.state.withLock { state in
                    guard state.accept else { return false }
                    state.revisions += batch.map(\.kv.modRevision)
                    return true
                }
            }, finish: { error in
                self.state.withLock { $0.finished.append(error.map { ($0 as? BerthError)?.code == .gone ? "gone" : "\($0)" } ?? "closed") }
            })
        }

        var revisions: [Int64] { state.withLock { $0.revisions } }
        var finished: [String] { state.withLock { $0.finished } }
    }

    func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(25)) }
    }

    @Test(arguments: StoreKind.allCases)
    func historyThenLiveEventsOnce(_ kind: StoreKind) async throws {
        let fixture = try await StoreFixture.make(kind)
        let store = fixture.store
        let start = try await store.currentRevision()
        var written: [Int64] = []
        for index in 0..<3 { written.append(try await store.put("/r/a/\(index)", Array("\(index)".utf8))) }
        _ = try await store.put("/r/other", Array("x".utf8))
        let collected = Collected()
        let subscription = try await store.subscribe(prefix: "/r/a/", after: start, receiver: collected.receiver)
        for index in 3..<5 { written.append(try await store.put("/r/a/\(index)", Array("\(index)".utf8))) }
        try await waitFor { collected.revisions.count >= 5 }
        #expect(collected.revisions == written)

        subscription.cancel()
        _ = try await store.put("/r/a/9", Array("9".utf8))
        try await Task.sleep(for: .milliseconds(200))
        #expect(collected.revisions == written)
        await fixture.close()
    }

    @Test(arguments: StoreKind.allCases)
    func aFullReceiverIsCutOffWithGone(_ kind: StoreKind) async throws {
        let fixture = try await StoreFixture.make(kind)
        let store = fixture.store
        let collected = Collected()
        let subscription = try await store.subscribe(prefix: "/r/b/", after: try await store.currentRevision(), receiver: collected.receiver)
        _ = try await store.put("/r/b/1", Array("1".utf8))
        try await waitFor { collected.revisions.count == 1 }
        collected.state.withLock { $0.accept = false }
        _ = try await store.put("/r/b/2", Array("2".utf8))
        try await waitFor { !collected.finished.isEmpty }
        #expect(collected.finished.first == "gone")
        collected.state.withLock { $0.accept = true }
        _ = try await store.put("/r/b/3", Array("3".utf8))
        try await Task.sleep(for: .milliseconds(200))
        #expect(collected.revisions.count == 1)
        subscription.cancel()
        await fixture.close()
    }
}
