import BerthCore
import BerthTestSupport
import Foundation
import Synchronization
import Testing

@Suite("blocking threads and async permits", .blockingAllowed)
struct BlockingThreadsTests {
    actor Counts {
        var holding = 0, most = 0
        var order: [Int] = []
        func enter(_ index: Int) {
            holding += 1
            most = max(most, holding)
            order.append(index)
        }
        func leave() { holding -= 1 }
    }

    @Test("work that blocks holds up no other work: four sleepers, and a quick job still runs at once")
    func blockedWorkDoesNotStallOthers() async throws {
        let threads = BlockingThreads(name: "test-blocking", idleSeconds: 1)
        let release = Atomic<Bool>(false)
        for _ in 0..<4 {
            threads.run { while !release.load(ordering: .relaxed) { usleep(10_000) } }
        }
        let started = ContinuousClock.now
        let answer = await threads.value { 42 }
        let waited = ContinuousClock.now - started
        release.store(true, ordering: .relaxed)
        #expect(answer == 42)
        #expect(waited < .seconds(1), "a quick job waited \(waited) behind four blocked ones")
        let thrown = await #expect(throws: BerthError.self) { try await threads.result { throw BerthError(.invalid, "no") } }
        #expect(thrown?.code == .invalid)
    }

    @Test("permits: never more holders than the limit, waiters served in order, a cancelled waiter leaves the queue")
    func permitsLimitAndOrder() async throws {
        let permits = AsyncPermits(limit: 2)
        let counts = Counts()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                group.addTask {
                    try await permits.withPermit {
                        await counts.enter(index)
                        try await Task.sleep(for: .milliseconds(20))
                        await counts.leave()
                    }
                }
                // Arrival order is the order tasks reach the permits: give each a moment.
                try await Task.sleep(for: .milliseconds(2))
            }
            try await group.waitForAll()
        }
        #expect(await counts.most == 2)
        #expect(await counts.order.count == 12)

        // A waiter cancelled while queued gets CancellationError; the permit goes to the next.
        let gate = AsyncPermits(limit: 1)
        let (held, releaseHeld) = AsyncStream<Void>.makeStream()
        let holder = Task { try await gate.withPermit { for await _ in held {} } }
        try await Task.sleep(for: .milliseconds(50))
        let cancelled = Task { try await gate.withPermit { "got it" } }
        let next = Task { try await gate.withPermit { "next" } }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        releaseHeld.finish()
        try await holder.value
        #expect(try await next.value == "next")
    }
}
