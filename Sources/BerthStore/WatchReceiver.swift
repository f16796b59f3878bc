import BerthCore

/// Where a watcher's events go when it subscribes with a receiver rather than a stream: the
/// store hands each batch straight to it (for `SQLiteStore`, under the hub's lock as the commit
/// is published), so no task sits between the commit and the watcher's own buffer. With a
/// hundred watchers that task was a wake-up per watcher per commit.
public struct WatchReceiver: Sendable {
    /// Takes a batch; returns false when the receiver's buffer is full, and the watch is then
    /// ended with a 410 (the client resumes from its last revision).
    public let deliver: @Sendable ([WatchEvent]) -> Bool
    /// The watch ended: nil when the store closed it, otherwise why.
    public let finish: @Sendable ((any Error)?) -> Void

    public init(deliver: @escaping @Sendable ([WatchEvent]) -> Bool, finish: @escaping @Sendable ((any Error)?) -> Void) {
        self.deliver = deliver
        self.finish = finish
    }

    static let overflow = BerthError(.gone, "watch closed: the client fell too far behind; resume from the last revision")
}

/// A live receiver subscription; `cancel` stops deliveries (idempotent).
public final class WatchSubscription: Sendable {
    private let stop: @Sendable () -> Void

    public init(cancel: @escaping @Sendable () -> Void) { stop = cancel }

    public func cancel() { stop() }
}

extension KeyValueStore {
    /// For stores without a direct path (etcd): the stream, forwarded by one task.
    public func subscribe(prefix: String, after revision: Int64, receiver: WatchReceiver) async throws(BerthError) -> WatchSubscription {
        let stream = try await watch(prefix: prefix, after: revision)
        let task = Task {
            do {
                for try await batch in stream where !receiver.deliver(batch) {
                    receiver.finish(WatchReceiver.overflow)
                    return
                }
                receiver.finish(nil)
            } catch {
                receiver.finish(error)
            }
        }
        return WatchSubscription { task.cancel() }
    }
}
