import AsyncHTTPClient
import BerthCore
import Foundation
import NIOCore

/// The distributed store: the same contract mapped one-to-one onto etcd v3 through its JSON
/// gateway (`/v3/kv/*`, `/v3/watch`, `/v3/lease/*`).
public final class EtcdStore: KeyValueStore {
    let gateway: EtcdGateway
    private let ownsClient: Bool

    /// `endpoints` like `http://127.0.0.1:2379`.
    public init(endpoints: [String], client: HTTPClient? = nil) {
        self.ownsClient = client == nil
        gateway = EtcdGateway(endpoints: endpoints, client: client ?? EtcdGateway.makeClient())
    }

    /// A client made for this store, shut down with it.
    init(endpoints: [String], client: HTTPClient, ownsClient: Bool) {
        self.ownsClient = ownsClient
        gateway = EtcdGateway(endpoints: endpoints, client: client)
    }

    /// Parses `etcd://h1:2379,h2:2379[?cafile=…&certfile=…&keyfile=…]`. With any TLS setting
    /// (from `tls` or the URL) the members are reached over HTTPS.
    public convenience init(url: String, tls: EtcdTLS = EtcdTLS()) throws(BerthError) {
        guard url.hasPrefix("etcd://") else { throw BerthError(.badRequest, "failed to parse store url \(url): expected etcd://HOST:PORT[,HOST:PORT...]") }
        let rest = url.dropFirst("etcd://".count)
        let hostList = rest.split(separator: "?", maxSplits: 1).first ?? ""
        let settings = tls.merged(withQuery: rest.split(separator: "?", maxSplits: 1).dropFirst().first ?? "")
        let scheme = settings.isEmpty ? "http" : "https"
        let hosts = hostList.split(separator: ",").map { "\(scheme)://\($0)" }
        guard !hosts.isEmpty else { throw BerthError(.badRequest, "failed to parse store url \(url): no hosts") }
        if settings.isEmpty {
            self.init(endpoints: hosts)
        } else {
            self.init(endpoints: hosts, client: EtcdGateway.makeClient(tls: try settings.clientConfiguration()), ownsClient: true)
        }
    }

    public func range(from key: String, to end: String?, limit: Int, revision: Int64) async throws(BerthError) -> RangeResult {
        var body: JSONValue = ["key": EtcdGateway.encode(key)]
        if let end { body["range_end"] = EtcdGateway.encode(end) }
        if limit > 0 { body["limit"] = .string(String(limit)) }
        if revision > 0 { body["revision"] = .string(String(revision)) }
        let response = try await gateway.call("/v3/kv/range", body)
        let kvs = (response["kvs"]?.arrayValue ?? []).compactMap { EtcdGateway.keyValue($0) }
        return RangeResult(kvs: kvs, revision: EtcdGateway.int64(response.value(at: ["header", "revision"])), more: response["more"] == .bool(true))
    }

    public func txn(if compares: [Compare], then success: [Operation], else failure: [Operation]) async throws(BerthError) -> TxnResult {
        let body: JSONValue = [
            "compare": .array(compares.map(Self.encode)),
            "success": .array(success.map(Self.encode)),
            "failure": .array(failure.map(Self.encode)),
        ]
        let response = try await gateway.call("/v3/kv/txn", body)
        let succeeded = response["succeeded"] == .bool(true)
        let operations = succeeded ? success : failure
        let answers = response["responses"]?.arrayValue ?? []
        var results: [OperationResult] = []
        for (index, operation) in operations.enumerated() {
            let answer = index < answers.count ? answers[index] : [:]
            switch operation {
            case .put: results.append(.put(previous: EtcdGateway.keyValue(answer.value(at: ["response_put", "prev_kv"]))))
            case .delete, .deletePrefix:
                results.append(.delete(deleted: (answer.value(at: ["response_delete_range", "prev_kvs"])?.arrayValue ?? []).compactMap { EtcdGateway.keyValue($0) }))
            case .get: results.append(.get(answer.value(at: ["response_range", "kvs"])?.arrayValue?.first.flatMap { EtcdGateway.keyValue($0) }))
            }
        }
        return TxnResult(succeeded: succeeded, revision: EtcdGateway.int64(response.value(at: ["header", "revision"])), results: results)
    }

    static func encode(_ compare: Compare) -> JSONValue {
        var body: JSONValue = ["key": EtcdGateway.encode(compare.key)]
        switch compare.result {
        case .equal: body["result"] = "EQUAL"
        case .notEqual: body["result"] = "NOT_EQUAL"
        case .less: body["result"] = "LESS"
        case .greater: body["result"] = "GREATER"
        }
        switch compare.target {
        case .modRevision(let revision): body["target"] = "MOD"; body["mod_revision"] = .string(String(revision))
        case .createRevision(let revision): body["target"] = "CREATE"; body["create_revision"] = .string(String(revision))
        case .version(let version): body["target"] = "VERSION"; body["version"] = .string(String(version))
        case .value(let value): body["target"] = "VALUE"; body["value"] = EtcdGateway.encode(value)
        }
        return body
    }

    static func encode(_ operation: Operation) -> JSONValue {
        switch operation {
        case .put(let key, let value, let lease):
            var put: JSONValue = ["key": EtcdGateway.encode(key), "value": EtcdGateway.encode(value), "prev_kv": true]
            if lease != 0 { put["lease"] = .string(String(lease)) }
            return ["request_put": put]
        case .delete(let key):
            return ["request_delete_range": ["key": EtcdGateway.encode(key), "prev_kv": true]]
        case .deletePrefix(let prefix):
            return ["request_delete_range": ["key": EtcdGateway.encode(prefix), "range_end": EtcdGateway.encode(KeyRange.prefixEnd(prefix)), "prev_kv": true]]
        case .get(let key):
            return ["request_range": ["key": EtcdGateway.encode(key)]]
        }
    }

    public func watch(prefix: String, after revision: Int64) async throws(BerthError) -> WatchStream {
        if revision > 0 {
            // A read at the revision fails exactly when history after it was compacted away.
            _ = try await gateway.call("/v3/kv/range", ["key": EtcdGateway.encode(prefix), "limit": "1", "revision": .string(String(revision))])
        }
        let stream = EtcdWatchStream(gateway: gateway, prefix: prefix, after: revision)
        return try await stream.open()
    }

    public func compact(upTo revision: Int64) async throws(BerthError) {
        _ = try await gateway.call("/v3/kv/compaction", ["revision": .string(String(revision)), "physical": true])
    }

    /// The answering member's id and the leader it knows (`/v3/maintenance/status`).
    public func memberStatus() async throws(BerthError) -> (memberID: String, leaderID: String) {
        let response = try await gateway.call("/v3/maintenance/status", [:])
        return (response.value(at: ["header", "member_id"])?.stringValue ?? "", response["leader"]?.stringValue ?? "-")
    }

    public func currentRevision() async throws(BerthError) -> Int64 {
        let response = try await gateway.call("/v3/kv/range", ["key": EtcdGateway.encode("\u{0}"), "limit": "1"])
        return EtcdGateway.int64(response.value(at: ["header", "revision"]))
    }

    public func grantLease(ttlSeconds: Int64) async throws(BerthError) -> Int64 {
        let response = try await gateway.call("/v3/lease/grant", ["TTL": .string(String(ttlSeconds))])
        return EtcdGateway.int64(response["ID"])
    }

    public func keepAlive(lease: Int64) async throws(BerthError) {
        let response = try await gateway.call("/v3/lease/keepalive", ["ID": .string(String(lease))])
        let ttl = EtcdGateway.int64(response.value(at: ["result", "TTL"]) ?? response["TTL"])
        if ttl <= 0 { throw BerthError(.notFound, "failed to keep lease \(lease) alive: lease not found") }
    }

    public func revokeLease(_ lease: Int64) async throws(BerthError) {
        _ = try await gateway.call("/v3/lease/revoke", ["ID": .string(String(lease))])
    }

    public func close() async {
        if ownsClient { try? await gateway.client.shutdown() }
    }

    /// A store dropped without `close()` closes its own connections (AsyncHTTPClient keeps
    /// itself alive until that is done; a second shutdown only reports that it was done).
    deinit { if ownsClient { gateway.client.shutdown { _ in } } }
}
