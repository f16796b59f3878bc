import BerthCore
import Synchronization

/// Fans committed events out to live watchers. The writer publishes each committed batch under
/// the hub's lock, and a new watcher registers under the same lock, so a watcher that replays
/// history up to the hub's revision and then takes live events sees every change exactly once.
final class WatchHub: Sendable {
    /// A watcher whose buffer holds this many undelivered events is cut off (it can resume
    /// from its last revision), so one stalled client cannot grow the server without bound.
    static let bufferLimit = 20_000

    struct Subscriber {
        let prefix: String
        /// Events at or below this revision were already delivered from history.
        let after: Int64
        let receiver: WatchReceiver
    }

    struct State {
        var revision: Int64
        var nextID = 0
        var subscribers: [Int: Subscriber] = [:]
    }

    private let state: Mutex<State>

    init(revision: Int64) { state = Mutex(State(revision: revision)) }

    var revision: Int64 { state.withLock { $0.revision } }

    /// Publishes one committed transaction's events and advances the revision.
    func publish(_ events: [WatchEvent], revision: Int64) {
        state.withLock { state in
            state.revision = max(state.revision, revision)
            var overflowed: [Int] = []
            for (id, subscriber) in state.subscribers {
                let matching = events.filter { $0.kv.modRevision > subscriber.after && $0.kv.key.hasPrefix(subscriber.prefix) }
                if matching.isEmpty { continue }
                if !subscriber.receiver.deliver(matching) { overflowed.append(id) }
            }
            for id in overflowed {
                state.subscribers.removeValue(forKey: id)?.receiver.finish(WatchReceiver.overflow)
            }
        }
    }

    /// Registers a watcher as a stream (bounded: a watcher this far behind is cut off).
    func subscribe(prefix: String, after revision: Int64, replay: (Int64) throws(BerthError) -> [WatchEvent]) throws(BerthError) -> WatchStream {
        let (stream, continuation) = WatchStream.makeStream(bufferingPolicy: .bufferingOldest(Self.bufferLimit))
        let receiver = WatchReceiver(deliver: { batch in
            if case .dropped = continuation.yield(batch) { return false }
            return true
        }, finish: { error in
            if let error { continuation.finish(throwing: error) } else { continuation.finish() }
        })
        let subscription = try subscribe(prefix: prefix, after: revision, receiver: receiver, replay: replay)
        continuation.onTermination = { _ in subscription.cancel() }
        return stream
    }

    /// Registers a receiver; `replay` runs under the lock with the hub's revision and returns
    /// the historical events (after the requested revision, up to and including that one),
    /// which the receiver gets before any live event.
    func subscribe(prefix: String, after revision: Int64, receiver: WatchReceiver,
                   replay: (Int64) throws(BerthError) -> [WatchEvent]) throws(BerthError) -> WatchSubscription {
        let result: Result<Int, BerthError> = state.withLock { state in
            var delivered = revision
            do {
                let history = try replay(state.revision)
                var start = 0
                while start < history.count {
                    let end = min(start + 1000, history.count)
                    guard receiver.deliver(Array(history[start..<end])) else { return .failure(WatchReceiver.overflow) }
                    start = end
                }
                if let last = history.last { delivered = max(delivered, last.kv.modRevision) }
            } catch let error as BerthError {
                return .failure(error)
            } catch {
                return .failure(BerthError(.internalError, "failed to replay watch: \(error)"))
            }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = Subscriber(prefix: prefix, after: max(delivered, state.revision), receiver: receiver)
            return .success(id)
        }
        let id: Int
        switch result {
        case .success(let value): id = value
        case .failure(let error): throw error
        }
        return WatchSubscription { [weak self] in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
    }

    func closeAll() {
        let subscribers = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.receiver.finish(nil) }
    }
}
