import BerthCore

/// A store that encrypts values under the configured prefixes on the way in and decrypts them
/// on the way out (`--encryption-provider-config`), so every path above it — reads, lists,
/// watches, transactions, backups of the file — sees or keeps what it should: the API plain
/// objects, the store file ciphertext. Keys, revisions and everything else pass through.
public final class EncryptingStore: KeyValueStore {
    let inner: any KeyValueStore
    let cipher: ValueCipher

    public init(_ inner: any KeyValueStore, configuration: EncryptionConfiguration) {
        self.inner = inner
        cipher = ValueCipher(configuration: configuration)
    }

    public var publishesBeforeAcknowledging: Bool { inner.publishesBeforeAcknowledging }

    func open(_ kv: KeyValue) throws(BerthError) -> KeyValue {
        guard cipher.configuration.rule(for: kv.key) != nil, !kv.value.isEmpty else { return kv }
        var plain = kv
        plain.value = try cipher.decrypt(kv.value, key: kv.key)
        return plain
    }

    func open(_ kv: KeyValue?) throws(BerthError) -> KeyValue? {
        guard let kv else { return nil }
        return try open(kv)
    }

    func open(_ event: WatchEvent) throws(BerthError) -> WatchEvent {
        WatchEvent(kind: event.kind, kv: try open(event.kv), previous: try open(event.previous))
    }

    public func range(from key: String, to end: String?, limit: Int, revision: Int64) async throws(BerthError) -> RangeResult {
        var result = try await inner.range(from: key, to: end, limit: limit, revision: revision)
        for index in result.kvs.indices { result.kvs[index] = try open(result.kvs[index]) }
        return result
    }

    public func txn(if compares: [Compare], then success: [Operation], else failure: [Operation]) async throws(BerthError) -> TxnResult {
        func seal(_ operations: [Operation]) throws(BerthError) -> [Operation] {
            var sealed: [Operation] = []
            for operation in operations {
                if case .put(let key, let value, let lease) = operation {
                    sealed.append(.put(key: key, value: try cipher.encrypt(value, key: key), lease: lease))
                } else {
                    sealed.append(operation)
                }
            }
            return sealed
        }
        var result = try await inner.txn(if: compares, then: try seal(success), else: try seal(failure))
        for index in result.results.indices {
            switch result.results[index] {
            case .get(let kv): result.results[index] = .get(try open(kv))
            // A value a write replaced is not needed to answer the write: one the configuration
            // can no longer read (a retired key) does not fail the write that replaces it.
            case .put(let previous): result.results[index] = .put(previous: (try? open(previous)) ?? nil)
            case .delete(let deleted):
                var opened: [KeyValue] = []
                for kv in deleted { opened.append(try open(kv)) }
                result.results[index] = .delete(deleted: opened)
            }
        }
        return result
    }

    public func watch(prefix: String, after revision: Int64) async throws(BerthError) -> WatchStream {
        let stream = try await inner.watch(prefix: prefix, after: revision)
        return WatchStream { continuation in
            let task = Task {
                do {
                    for try await batch in stream {
                        var opened: [WatchEvent] = []
                        for event in batch { opened.append(try open(event)) }
                        continuation.yield(opened)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    public func subscribe(prefix: String, after revision: Int64, receiver: WatchReceiver) async throws(BerthError) -> WatchSubscription {
        let opening = WatchReceiver(deliver: { [self] batch in
            var opened: [WatchEvent] = []
            for event in batch {
                guard let plain = try? open(event) else {
                    receiver.finish(BerthError(.internalError, "cannot decrypt \(event.kv.key)"))
                    return false
                }
                opened.append(plain)
            }
            return receiver.deliver(opened)
        }, finish: receiver.finish)
        return try await inner.subscribe(prefix: prefix, after: revision, receiver: opening)
    }

    public func compact(upTo revision: Int64) async throws(BerthError) { try await inner.compact(upTo: revision) }
    public func currentRevision() async throws(BerthError) -> Int64 { try await inner.currentRevision() }
    public func grantLease(ttlSeconds: Int64) async throws(BerthError) -> Int64 { try await inner.grantLease(ttlSeconds: ttlSeconds) }
    public func keepAlive(lease: Int64) async throws(BerthError) { try await inner.keepAlive(lease: lease) }
    public func revokeLease(_ lease: Int64) async throws(BerthError) { try await inner.revokeLease(lease) }
    public func close() async { await inner.close() }
}
