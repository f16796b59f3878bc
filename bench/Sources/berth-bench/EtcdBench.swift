import AsyncHTTPClient
import BerthCore
import Foundation
import NIOCore
import Synchronization

/// The reference: the same pod documents put straight into etcd (create-if-absent transactions,
/// as an API server would) through its JSON gateway with the same concurrency.
struct EtcdBench {
    let endpoint: String
    let count: Int
    let clients: Int

    func run() async throws -> Double {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let next = Counter()
        let began = monotonicNanoseconds()
        let (endpoint, count) = (self.endpoint, self.count)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask { [http] in
                    while true {
                        let index = next.next()
                        if index >= count { return }
                        let key = Base64.encode(Array("/registry/core/pods/bench/bench-\(index)".utf8))
                        let value = Base64.encode(JSONWriter.bytes(benchPod(index, sent: 0)))
                        let txn: JSONValue = [
                            "compare": [["key": .string(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"]],
                            "success": [["request_put": ["key": .string(key), "value": .string(value)]]],
                        ]
                        var request = HTTPClientRequest(url: endpoint + "/v3/kv/txn")
                        request.method = .POST
                        request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(txn)))
                        let response = try await http.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        guard response.status == .ok else { throw BerthError(.internalError, "etcd answered \(response.status)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let seconds = Double(monotonicNanoseconds() - began) / 1e9
        try await http.shutdown()
        return Double(count) / seconds
    }
}
