import AsyncHTTPClient
import BerthCore
import Foundation
import NIOCore

/// A watch over etcd's `POST /v3/watch` streams: newline-delimited `{"result":…}` messages
/// turned into `WatchEvent`s. When the member serving it goes away (killed, partitioned, a
/// leader change that drops streams), the watch is opened again on the next member from the
/// revision after the last one delivered: the consumer sees no gap and no repeat. A cancelled
/// watch (compaction) ends the stream with 410 Gone; when no member answers for a while, the
/// stream ends with 503 and the consumer starts over.
struct EtcdWatchStream: Sendable {
    let gateway: EtcdGateway
    let prefix: String
    let after: Int64
    /// How long to keep trying members after the serving one is lost.
    var reconnectFor: Duration = .seconds(30)

    func body(after revision: Int64) -> JSONValue {
        ["create_request": [
            "key": EtcdGateway.encode(prefix), "range_end": EtcdGateway.encode(KeyRange.prefixEnd(prefix)),
            "start_revision": .string(String(revision + 1)), "prev_kv": true,
        ]]
    }

    func open() async throws(BerthError) -> WatchStream {
        let first: HTTPClientResponse
        do {
            first = try await connect(body(after: after))
        } catch {
            throw BerthError(.unavailable, "failed to watch etcd: \(error)")
        }
        let (stream, continuation) = WatchStream.makeStream()
        let task = Task {
            var response = first
            var delivered = after
            while true {
                do {
                    try await Self.pump(response.body, into: continuation, delivered: &delivered)
                } catch let error as BerthError where error.code == .gone {
                    continuation.finish(throwing: error)
                    return
                } catch {
                    // The member went away mid-stream: resume below.
                }
                if Task.isCancelled { return continuation.finish() }
                guard let next = await reconnect(after: delivered) else {
                    continuation.finish(throwing: BerthError(.unavailable, "etcd watch lost: no member answered for \(reconnectFor)"))
                    return
                }
                response = next
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Tries the members again until one answers or `reconnectFor` has passed.
    private func reconnect(after revision: Int64) async -> HTTPClientResponse? {
        let deadline = ContinuousClock.now + reconnectFor
        while ContinuousClock.now < deadline, !Task.isCancelled {
            if let response = try? await connect(body(after: revision)) { return response }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    private func connect(_ body: JSONValue) async throws -> HTTPClientResponse {
        var lastError: any Error = BerthError(.unavailable, "failed to reach etcd: no endpoints")
        for (index, endpoint) in gateway.ordered {
            do {
                var request = HTTPClientRequest(url: endpoint + "/v3/watch")
                request.method = .POST
                request.body = .bytes(ByteBuffer(bytes: JSONWriter.bytes(body)))
                let response = try await gateway.client.execute(request, deadline: .distantFuture)
                gateway.preferred.value = index
                return response
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Reads one stream until it ends; `delivered` is the revision of the last event handed on.
    static func pump(_ body: HTTPClientResponse.Body, into continuation: WatchStream.Continuation, delivered: inout Int64) async throws {
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
                // A resumed stream starts after `delivered`; anything at or below it is a repeat.
                batch.removeAll { $0.kv.modRevision <= delivered }
                if let last = batch.last?.kv.modRevision { delivered = last }
                if !batch.isEmpty { continuation.yield(batch) }
            }
        }
    }
}
