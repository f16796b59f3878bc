import BerthMetrics
import Synchronization

/// Keys waiting to be reconciled. A key is queued at most once however often it is added, is
/// never handed to two workers at once (added again while in progress, it is queued again when
/// the worker is done), and a failed key comes back after a per-key exponential backoff that an
/// overall token bucket also bounds. With a `rank`, keys of higher rank are handed out first
/// (the scheduler's queue: pods of higher priority are placed first), FIFO within a rank.
public final class WorkQueue: Sendable {
    private let state: Mutex<State>
    private let rank: (@Sendable (String) -> Int32)?
    /// client-go's `workqueue_*` metrics under `name` (nil: none).
    private let metrics: WorkQueueMetrics?

    struct State {
        /// Keys of rank 0, FIFO from `head`.
        var items: [String] = []
        var head = 0
        /// Keys of any other rank, FIFO per rank.
        var ranked: [Int32: [String]] = [:]
        var rankedCount = 0
        var queued: Set<String> = []
        var processing: Set<String> = []
        var dirty: Set<String> = []
        var waiters: [CheckedContinuation<String?, Never>] = []
        var limiter: RetryRateLimiter
        var shutDown = false
        /// Keys with a coalesced add pending.
        var delayed: Set<String> = []
        /// When each queued key was queued, and each key in progress started (for the metrics).
        var queuedAt: [String: ContinuousClock.Instant] = [:]
        var startedAt: [String: ContinuousClock.Instant] = [:]
    }

    public init(name: String? = nil, limiter: RetryRateLimiter = RetryRateLimiter(), rank: (@Sendable (String) -> Int32)? = nil) {
        state = Mutex(State(limiter: limiter))
        self.rank = rank
        metrics = name.map { WorkQueueMetrics(name: $0) }
        if let name { WorkQueueMetrics.register(self, name: name) }
    }

    public func add(_ key: String) {
        // Ranked outside the lock: the rank reads other state (an informer's cache).
        let keyRank = rank?(key) ?? 0
        let waiter = state.withLock { state -> CheckedContinuation<String?, Never>? in
            guard !state.shutDown, !state.queued.contains(key) else { return nil }
            if metrics != nil { state.queuedAt[key] = .now }
            if state.processing.contains(key) {
                state.dirty.insert(key)
                return nil
            }
            if !state.waiters.isEmpty {
                state.processing.insert(key)
                if metrics != nil { state.startedAt[key] = state.queuedAt.removeValue(forKey: key) }
                return state.waiters.removeFirst()
            }
            state.queued.insert(key)
            if keyRank == 0 {
                state.items.append(key)
            } else {
                state.ranked[keyRank, default: []].append(key)
                state.rankedCount += 1
            }
            return nil
        }
        metrics?.added(key: key)
        waiter?.resume(returning: key)
    }

    /// Higher ranks first, then rank 0, then negative ranks.
    private static func takeNext(_ state: inout State) -> String? {
        if state.rankedCount > 0, let best = state.ranked.keys.max(), best > 0 { return takeRanked(best, &state) }
        if state.head < state.items.count {
            let key = state.items[state.head]
            state.head += 1
            if state.head > 1024 && state.head * 2 > state.items.count {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            return key
        }
        if state.rankedCount > 0, let best = state.ranked.keys.max() { return takeRanked(best, &state) }
        return nil
    }

    private static func takeRanked(_ rank: Int32, _ state: inout State) -> String {
        var bucket = state.ranked[rank] ?? []
        let key = bucket.removeFirst()
        state.ranked[rank] = bucket.isEmpty ? nil : bucket
        state.rankedCount -= 1
        return key
    }

    /// The next key to work on; nil once the queue is shut down.
    public func next() async -> String? {
        await withCheckedContinuation { continuation in
            let key = state.withLock { state -> String?? in
                if state.shutDown { return .some(nil) }
                guard let key = Self.takeNext(&state) else {
                    state.waiters.append(continuation)
                    return .none
                }
                state.queued.remove(key)
                state.processing.insert(key)
                if let metrics, let queued = state.queuedAt.removeValue(forKey: key) {
                    let now = ContinuousClock.now
                    metrics.queued(seconds: WorkQueueMetrics.seconds(now - queued))
                    state.startedAt[key] = now
                }
                return .some(key)
            }
            if let key { continuation.resume(returning: key) }
        }
    }

    /// Marks a key finished; one added meanwhile is queued again.
    public func done(_ key: String) {
        let requeue = state.withLock { state -> Bool in
            state.processing.remove(key)
            if let metrics, let started = state.startedAt.removeValue(forKey: key) { metrics.worked(seconds: WorkQueueMetrics.seconds(.now - started)) }
            return state.dirty.remove(key) != nil
        }
        if requeue { add(key) }
    }

    /// The key succeeded: its backoff starts over.
    public func forget(_ key: String) { state.withLock { _ = $0.limiter.forget(key) } }

    /// The key failed: it comes back after its backoff.
    @discardableResult
    public func retry(_ key: String) -> Duration {
        let delay = state.withLock { $0.limiter.delay(for: key, now: .now) }
        metrics?.retried()
        add(key, after: delay)
        return delay
    }

    public func add(_ key: String, after delay: Duration) {
        guard delay > .zero else { return add(key) }
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            self?.add(key)
        }
    }

    /// Adds the key after `delay`, once however often it is asked for meanwhile: a burst of
    /// events for one key (a ReplicaSet's pods turning Ready one by one) becomes one reconcile
    /// and one status write instead of one per event.
    public func addCoalesced(_ key: String, after delay: Duration) {
        let first = state.withLock { $0.delayed.insert(key).inserted }
        guard first else { return }
        Task { [weak self] in
            try? await Task.sleep(for: delay)
            self?.state.withLock { _ = $0.delayed.remove(key) }
            self?.add(key)
        }
    }

    public var length: Int { state.withLock { $0.items.count - $0.head + $0.rankedCount } }

    public func shutDown() {
        let waiters = state.withLock { state -> [CheckedContinuation<String?, Never>] in
            state.shutDown = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }
}

/// Per-key exponential backoff (5 ms doubling up to a cap) combined with an overall token
/// bucket (10 retries per second, bursts of 100), like client-go's default controller limiter.
/// Pure: the caller passes the time, so tests step it by hand.
public struct RetryRateLimiter: Sendable {
    public var baseDelay: Duration = .milliseconds(5)
    public var maximumDelay: Duration = .seconds(60)
    public var retriesPerSecond: Double = 10
    public var burst: Double = 100
    private var failures: [String: Int] = [:]
    private var tokens: Double?
    private var lastRefill: ContinuousClock.Instant?

    public init() {}

    public func failureCount(_ key: String) -> Int { failures[key] ?? 0 }

    public mutating func forget(_ key: String) -> Int? { failures.removeValue(forKey: key) }

    public mutating func delay(for key: String, now: ContinuousClock.Instant) -> Duration {
        let count = failures[key] ?? 0
        failures[key] = count + 1
        var itemDelay = baseDelay
        for _ in 0..<min(count, 40) {
            itemDelay = itemDelay * 2
            if itemDelay >= maximumDelay { itemDelay = maximumDelay; break }
        }
        return max(itemDelay, bucketDelay(now: now))
    }

    /// Takes one token; when none is left, how long until one is.
    private mutating func bucketDelay(now: ContinuousClock.Instant) -> Duration {
        var available = tokens ?? burst
        if let lastRefill {
            let elapsed = now - lastRefill
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            available = min(burst, available + seconds * retriesPerSecond)
        }
        lastRefill = now
        available -= 1
        tokens = available
        guard available < 0 else { return .zero }
        return .milliseconds(Int64((-available / retriesPerSecond) * 1000))
    }
}
