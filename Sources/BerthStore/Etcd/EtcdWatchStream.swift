import AsyncHTTPClient
import BerthCore
import Foundation
import NIOCore

/// One `POST /v3/watch` stream: newline-delimited `{"result":…}` messages turned into
/// `WatchEvent`s. A cancelled watch (compaction) ends the stream with 410 Gone.
struct EtcdWatchStream: Sendable {
    let gateway: EtcdGateway
    let body: JSONValue

    func open() async throws(BerthError) -> WatchStream {
        let response: HTTPClientResponse
        do {
            response = try await connect(body)
        } catch {
            throw BerthError(.unavailable, "failed to watch etcd: \(error)")
        }
        let (stream, continuation) = WatchStream.makeStream()
        let task = Task {
            do {
                try await Self.pump(response.body, into: continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func connect(_ body: JSONValue) async throws -> HTTPClientResponse {
        var lastError: any Error = BerthError(.unavailable, "failed to reach etcd: no endpoints")
        for endpoint in gateway.endpoints {
            do {
                var request = HTTPClientRequest(url: endpoint + "/v3/watch")
                request.method = .POST
                request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(body)))
                return try await gateway.client.execute(request, deadline: .distantFuture)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    static func pump(_ body: HTTPClientResponse.Body, into continuation: WatchStream.Continuation) async throws {
        var pending: [UInt8] = []
        for try await chunk in body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard !line.isEmpty else { continue }
                let message = try JSONParser.parse(line)
                if let error = message["error"] {
                    throw EtcdGateway.translate(error["message"]?.stringValue ?? "watch failed", code: error["grpc_code"]?.intValue ?? 0)
                }
                guard let result = message["result"] else { continue }
                if result["canceled"] == .bool(true) {
                    let compacted = EtcdGateway.int64(result["compact_revision"])
                    throw BerthError(.gone, "too old resource version (compacted at \(compacted))")
                }
                var batch: [WatchEvent] = []
                for event in result["events"]?.arrayValue ?? [] {
                    guard var kv = EtcdGateway.keyValue(event["kv"]) else { continue }
                    let previous = EtcdGateway.keyValue(event["prev_kv"])
                    if event["type"]?.stringValue == "DELETE" {
                        kv.value = previous?.value ?? []
                        kv.createRevision = previous?.createRevision ?? 0
                        batch.append(WatchEvent(kind: .delete, kv: kv, previous: previous))
                    } else {
                        batch.append(WatchEvent(kind: .put, kv: kv, previous: previous))
                    }
                }
                if !batch.isEmpty { continuation.yield(batch) }
            }
        }
    }
}
