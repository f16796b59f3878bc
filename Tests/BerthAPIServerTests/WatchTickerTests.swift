@testable import BerthAPIServer
import BerthTestSupport
import Foundation
import ServiceLifecycle
import Testing

/// The shared tick that paces watch writes: waiters come back at a tick, not at once, and are
/// never left waiting when the ticker is not running.
@Suite("watch ticker", .blockingAllowed)
struct WatchTickerTests {
    @Test func withoutTheServiceRunningAWaiterReturnsAtOnce() async {
        let ticker = WatchTicker(interval: .seconds(3600))
        let clock = ContinuousClock()
        let began = clock.now
        await ticker.nextTick()
        #expect(clock.now - began < .seconds(1))
    }

    @Test func waitersAreReleasedAtATickNotAtOnce() async throws {
        let ticker = WatchTicker(interval: .milliseconds(200))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await ticker.run() }
            // The service marks itself running as it starts; a waiter before that returns at once.
            try await Task.sleep(for: .milliseconds(100))
            let clock = ContinuousClock()
            let began = clock.now
            let times = await withTaskGroup(of: Duration.self) { waiters in
                for _ in 0..<50 {
                    waiters.addTask {
                        await ticker.nextTick()
                        return clock.now - began
                    }
                }
                return await waiters.reduce(into: [Duration]()) { $0.append($1) }
            }
            // Every waiter came back, none before a tick: a tick sleeps the interval after the
            // first waiter asked, and they all asked after `began`. (How close together they
            // come back depends on the machine's load, so it is not checked.)
            #expect(times.count == 50)
            #expect(times.allSatisfy { $0 >= .milliseconds(200) })
            group.cancelAll()
        }
    }

    @Test func stoppingReleasesEveryWaiterAndLaterOnesReturnAtOnce() async throws {
        let ticker = WatchTicker(interval: .seconds(3600))
        let service = Task { try await ticker.run() }
        try await Task.sleep(for: .milliseconds(100))
        let waiter = Task { await ticker.nextTick() }
        try await Task.sleep(for: .milliseconds(100))
        service.cancel()
        let clock = ContinuousClock()
        let began = clock.now
        await waiter.value
        await ticker.nextTick()
        // Far below the hour-long interval, far above a stall of the test process under load
        // (38 s once in CI, while many servers started at once).
        #expect(clock.now - began < .seconds(120))
    }
}
