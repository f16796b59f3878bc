import BerthCore
import Synchronization

/// The keys under a few small prefixes, held in memory and kept current from the store's
/// commit stream: what admission consults on every pod create (the pod's namespace, the
/// priority classes, the IP pools). Each of those was a read transaction of its own, and in WAL
/// mode SQLite drops a reader's page cache whenever anything was written since its last read,
/// so each one read its pages again from the kernel.
///
/// It answers only for stores that publish a commit to subscribers before acknowledging it
/// (`KeyValueStore.publishesBeforeAcknowledging`): then no acknowledged write is missing from
/// the mirror, and a client that created a namespace finds it on its next request. Otherwise,
/// and until the first load, and after its subscription ended, callers read the store.
public final class PrefixMirror: Sendable {
    public let prefixes: [String]

    struct Copy {
        /// False until loaded, and again after the subscription ended.
        var live = false
        var values: [String: KeyValue] = [:]
        /// Counts changes, so a reader can keep something built from the values until they change.
        var changes = 0
    }

    private let copies: Mutex<[String: Copy]>

    public init(prefixes: [String]) {
        self.prefixes = prefixes
        copies = Mutex(Dictionary(uniqueKeysWithValues: prefixes.map { ($0, Copy()) }))
    }

    /// The values under `prefix` in key order; nil when the mirror cannot answer.
    public func values(under prefix: String) -> [KeyValue]? {
        copies.withLock { copies -> [KeyValue]? in
            guard let copy = copies[prefix], copy.live else { return nil }
            return copy.values.values.sorted { $0.key < $1.key }
        }
    }

    /// How often the values under `prefix` changed (or were loaded); nil when the mirror cannot
    /// answer. Equal counts mean equal values.
    public func changes(under prefix: String) -> Int? {
        copies.withLock { copies -> Int? in
            guard let copy = copies[prefix], copy.live else { return nil }
            return copy.changes
        }
    }

    /// The value at `key` (under `prefix`): `.some(nil)` when it is known to be absent, nil when
    /// the mirror cannot answer.
    public func value(at key: String, under prefix: String) -> KeyValue?? {
        copies.withLock { copies -> KeyValue?? in
            guard let copy = copies[prefix], copy.live else { return nil }
            return .some(copy.values[key])
        }
    }

    /// Loads and follows every prefix until cancelled; a prefix whose subscription ends is
    /// loaded again after a pause. Returns at once for stores it cannot serve.
    public func run(_ store: any KeyValueStore) async {
        guard store.publishesBeforeAcknowledging else { return }
        await withDiscardingTaskGroup { group in
            for prefix in prefixes { group.addTask { await self.follow(prefix, in: store) } }
        }
    }

    private func follow(_ prefix: String, in store: any KeyValueStore) async {
        while !Task.isCancelled {
            let ended = AsyncStream<Void>.makeStream()
            do {
                let loaded = try await store.list(prefix: prefix)
                // The load goes in before any event: the subscription replays what came after it.
                copies.withLock { copies in
                    copies[prefix] = Copy(live: false, values: Dictionary(loaded.kvs.map { ($0.key, $0) }, uniquingKeysWith: { $1 }),
                                          changes: (copies[prefix]?.changes ?? 0) + 1)
                }
                let receiver = WatchReceiver(deliver: { [weak self] events in
                    self?.apply(events, under: prefix)
                    return true
                }, finish: { [weak self] _ in
                    self?.setLive(false, prefix)
                    ended.continuation.finish()
                })
                let subscription = try await store.subscribe(prefix: prefix, after: loaded.revision, receiver: receiver)
                setLive(true, prefix)
                await withTaskCancellationHandler {
                    for await _ in ended.stream {}
                } onCancel: {
                    subscription.cancel()
                    ended.continuation.finish()
                }
                subscription.cancel()
            } catch {
                setLive(false, prefix)
            }
            setLive(false, prefix)
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    private func apply(_ events: [WatchEvent], under prefix: String) {
        copies.withLock { copies in
            copies[prefix]?.changes += 1
            for event in events {
                switch event.kind {
                case .put: copies[prefix]?.values[event.kv.key] = event.kv
                case .delete: copies[prefix]?.values[event.kv.key] = nil
                }
            }
        }
    }

    private func setLive(_ live: Bool, _ prefix: String) {
        copies.withLock { $0[prefix]?.live = live }
    }
}
