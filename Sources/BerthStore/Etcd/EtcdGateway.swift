import AsyncHTTPClient
import BerthCore
import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// HTTP access to etcd's v3 JSON gateway (grpc-gateway): keys and values are base64,
/// int64 fields are strings, zero values are omitted. Tries each endpoint in turn so one
/// dead member does not stop the store.
struct EtcdGateway: Sendable {
    let endpoints: [String]
    let client: HTTPClient
    let timeout: TimeAmount = .seconds(10)
    /// Calls in flight at once: fewer than the pool's connections, which watches share.
    let permits = AsyncPermits(limit: 32)
    /// The member that answered last: tried first, so a dead member costs one failed connect,
    /// not one per call.
    let preferred = PreferredEndpoint()

    final class PreferredEndpoint: Sendable {
        private let index = Atomic<Int>(0)
        var value: Int {
            get { index.load(ordering: .relaxed) }
            set { index.store(newValue, ordering: .relaxed) }
        }
    }

    init(endpoints: [String], client: HTTPClient) {
        self.endpoints = endpoints
        self.client = client
    }

    /// A client that gives up on a member at once: AsyncHTTPClient otherwise retries a refused
    /// connection with backoff until the request's deadline, so every call went to a dead
    /// member for 10 s before trying the next (a 3-member test took 12 minutes).
    static func makeClient(tls: TLSConfiguration? = nil) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = tls
        configuration.timeout.connect = .seconds(2)
        configuration.connectionPool.retryConnectionEstablishment = false
        // Calls are queued by `permits` (32) first; watches each hold a connection of their own.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The endpoints in the order to try them: the last one that answered first.
    var ordered: [(index: Int, url: String)] {
        let start = preferred.value % max(1, endpoints.count)
        return endpoints.indices.map { ($0 + start) % endpoints.count }.map { ($0, endpoints[$0]) }
    }

    func call(_ path: String, _ body: JSONValue) async throws(BerthError) -> JSONValue {
        var lastError = BerthError(.unavailable, "failed to reach etcd: no endpoints")
        for (index, endpoint) in ordered {
            do {
                var request = HTTPClientRequest(url: endpoint + path)
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(body)))
                let (bytes, status) = try await permits.withPermit {
                    let response = try await client.execute(request, timeout: timeout)
                    let bytes = try await response.body.collect(upTo: 512 * 1024 * 1024)
                    return (bytes, response.status.code)
                }
                let value = try JSONParser.parse(bytes.readableBytesView)
                if let message = value["error"]?.stringValue ?? (status >= 400 ? value["message"]?.stringValue : nil) {
                    throw Self.translate(message, code: value["code"]?.intValue ?? 0)
                }
                preferred.value = index
                return value
            } catch let error as BerthError {
                if error.code != .unavailable { throw error }
                lastError = error
            } catch {
                lastError = BerthError(.unavailable, "failed to reach etcd at \(endpoint): \(error)")
            }
        }
        throw lastError
    }

    /// Maps etcd's gRPC errors to Berth's codes.
    static func translate(_ message: String, code: Int) -> BerthError {
        if message.contains("compacted") { return BerthError(.gone, "too old resource version: \(message)") }
        if message.contains("lease not found") { return BerthError(.notFound, "failed to use lease: \(message)") }
        if message.contains("future revision") { return BerthError(.badRequest, "failed to read: \(message)") }
        // 14 Unavailable, 4 DeadlineExceeded: try the next member.
        if code == 14 || code == 4 || message.contains("leader") { return BerthError(.unavailable, "etcd unavailable: \(message)") }
        return BerthError(.internalError, "etcd error: \(message)")
    }

    static func encode(_ text: String) -> JSONValue { .string(Base64.encode(Array(text.utf8))) }
    static func encode(_ bytes: [UInt8]) -> JSONValue { .string(Base64.encode(bytes)) }

    static func int64(_ value: JSONValue?) -> Int64 {
        switch value {
        case .string(let text): Int64(text) ?? 0
        case .number(let text): Int64(text) ?? 0
        default: 0
        }
    }

    static func keyValue(_ value: JSONValue?) -> KeyValue? {
        guard let value, let key = value["key"]?.stringValue.flatMap(Base64.decode) else { return nil }
        return KeyValue(
            key: String(decoding: key, as: UTF8.self), value: value["value"]?.stringValue.flatMap(Base64.decode) ?? [],
            createRevision: int64(value["create_revision"]), modRevision: int64(value["mod_revision"]),
            version: int64(value["version"]), lease: int64(value["lease"]))
    }
}
