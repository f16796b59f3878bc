import BerthCore

/// A store that reports how long each call took (the API server's `etcd_request_duration_seconds`),
/// by operation and by the first key it touched; everything else passes through unchanged.
public struct TimedStore: KeyValueStore {
    public typealias Observer = @Sendable (_ operation: String, _ key: String, _ seconds: Double) -> Void

    let base: any KeyValueStore
    let observe: Observer

    public init(_ base: any KeyValueStore, observe: @escaping Observer) {
        self.base = base
        self.observe = observe
    }

    private func timed<T>(_ operation: String, _ key: String, _ body: () async throws(BerthError) -> T) async throws(BerthError) -> T {
        let clock = ContinuousClock()
        let start = clock.now
        defer {
            let elapsed = clock.now - start
            observe(operation, key, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
        return try await body()
    }

    public func range(from key: String, to end: String?, limit: Int, revision: Int64) async throws(BerthError) -> RangeResult {
        try await timed(end == nil ? "get" : "list", key) { () async throws(BerthError) in try await base.range(from: key, to: end, limit: limit, revision: revision) }
    }

    public func txn(if compares: [Compare], then success: [Operation], else failure: [Operation]) async throws(BerthError) -> TxnResult {
        let key = compares.first?.key ?? ""
        return try await timed("txn", key) { () async throws(BerthError) in try await base.txn(if: compares, then: success, else: failure) }
    }

    public func watch(prefix: String, after revision: Int64) async throws(BerthError) -> WatchStream { try await base.watch(prefix: prefix, after: revision) }

    public func subscribe(prefix: String, after revision: Int64, receiver: WatchReceiver) async throws(BerthError) -> WatchSubscription {
        try await base.subscribe(prefix: prefix, after: revision, receiver: receiver)
    }

    public var publishesBeforeAcknowledging: Bool { base.publishesBeforeAcknowledging }
    public func compact(upTo revision: Int64) async throws(BerthError) { try await base.compact(upTo: revision) }
    public func currentRevision() async throws(BerthError) -> Int64 { try await base.currentRevision() }
    public func grantLease(ttlSeconds: Int64) async throws(BerthError) -> Int64 { try await base.grantLease(ttlSeconds: ttlSeconds) }
    public func keepAlive(lease: Int64) async throws(BerthError) { try await base.keepAlive(lease: lease) }
    public func revokeLease(_ lease: Int64) async throws(BerthError) { try await base.revokeLease(lease) }
    public func close() async { await base.close() }
}
