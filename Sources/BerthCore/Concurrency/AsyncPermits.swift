import Synchronization

/// At most `limit` holders at once; the rest wait in arrival order, without a deadline of their
/// own (the work they then do has one).
///
/// Why: an HTTP client's connection pool fails a request that waits for a connection longer than
/// its connect timeout. A burst of 200 concurrent etcd writes on a busy host waited longer than
/// the 2 s that timeout is set to (short, so a dead member is left quickly) and failed with
/// `getConnectionFromPoolTimeout`; queueing here first hands the pool no more than it has.
public final class AsyncPermits: Sendable {
    private struct State {
        var available: Int
        var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
        var order: [UInt64] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    public init(limit: Int) { state = Mutex(State(available: max(1, limit))) }

    /// Runs `body` holding a permit. Throws `CancellationError` if cancelled while waiting.
    public func withPermit<T>(_ body: () async throws -> T) async throws -> T {
        try await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async throws {
        let id: UInt64? = state.withLock { state in
            if state.available > 0 && state.order.isEmpty {
                state.available -= 1
                return nil
            }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    state.order.append(id)
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
                state.order.removeAll { $0 == id }
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            while !state.order.isEmpty {
                let id = state.order.removeFirst()
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
            }
            state.available += 1
            return nil
        }
        next?.resume()
    }
}
