import ServiceLifecycle
import Synchronization

/// The one clock that paces every watch's writes. A watch that wrote less than the coalescing
/// interval ago waits for the next tick instead of arming a timer of its own: with 100 watchers
/// and a commit every few milliseconds that was ~20,000 timers a second, each a round trip
/// through the dispatch manager thread (~10 % of the server's CPU in `bench/api.sh`). Ticks run
/// only while someone waits.
final class WatchTicker: ServiceLifecycle.Service, Sendable {
    let interval: Duration
    private struct State {
        var running = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())
    private let demand: AsyncStream<Void>
    private let demandContinuation: AsyncStream<Void>.Continuation

    init(interval: Duration) {
        self.interval = interval
        (demand, demandContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Returns at the next tick, or at once while the ticker is not running (before it starts,
    /// after it stops, and where no service group runs it).
    func nextTick() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queued = state.withLock { state -> Bool in
                guard state.running else { return false }
                state.waiters.append(continuation)
                return true
            }
            if queued { demandContinuation.yield() } else { continuation.resume() }
        }
    }

    func run() async throws {
        state.withLock { $0.running = true }
        defer { release(stopping: true) }
        for await _ in demand.cancelOnGracefulShutdown() {
            try? await Task.sleep(for: interval)
            release(stopping: false)
        }
    }

    private func release(stopping: Bool) {
        let waiters = state.withLock { state in
            if stopping { state.running = false }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
