import BerthStore
import Logging
import ServiceLifecycle

/// Drops store history older than one interval, as kube-apiserver does every 5 minutes:
/// at each tick it compacts up to the revision it saw at the previous tick, so watchers have
/// at least one full interval to resume before they get 410 Gone.
public struct CompactionService: ServiceLifecycle.Service {
    let store: any KeyValueStore
    let interval: Duration
    let logger: Logger

    public init(store: any KeyValueStore, interval: Duration = .seconds(300), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        var previous: Int64 = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Sleep, but wake at once when the server shuts down.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            guard let current = try? await store.currentRevision() else { continue }
            if previous > 0 {
                do {
                    try await store.compact(upTo: previous)
                    logger.debug("store compacted", metadata: ["revision": "\(previous)"])
                } catch {
                    logger.warning("store compaction failed", metadata: ["error": "\(error)"])
                }
            }
            previous = current
        }
    }
}
