import HummingbirdWebSocket
import Logging
import NIOCore
import BerthCore

/// One `kubectl port-forward` connection: SPDY/3.1 carried in WebSocket binary messages
/// (subprotocol `SPDY/3.1+portforward.k8s.io`). For every local connection kubectl opens an
/// `error` stream and a `data` stream with the same `requestid` and a `port`; the server opens a
/// connection to that port through the pod's node agent (which connects to 127.0.0.1 inside the
/// pod's network namespace, as the kubelet does) and copies bytes both ways, half-closes
/// included. A connection that cannot be made is reported on the error stream, which kubectl
/// prints.
struct PortForwardSession {
    static let subprotocol = "SPDY/3.1+portforward.k8s.io"
    /// What kubectl 1.27–1.29 ask for in `X-Stream-Protocol-Version` on a SPDY upgrade.
    static let protocolVersion = "portforward.k8s.io"

    /// Opens one connection to a port of the pod.
    let connect: @Sendable (Int) async throws(BerthError) -> any ExecProcess
    let podName: String
    let logger: Logger

    /// kubectl 1.30 and later: SPDY inside WebSocket binary messages.
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let chunks = inbound.messages(maxSize: 1 << 20).compactMap { message -> [UInt8]? in
            guard case .binary(let buffer) = message else { return nil }
            return Array(buffer.readableBytesView)
        }
        try await run(chunks: chunks) { frame in try await outbound.write(.binary(ByteBuffer(bytes: frame))) }
    }

    /// The session over any byte stream (kubectl 1.27–1.29 speak SPDY on the upgraded
    /// connection itself: `SPDYUpgrade`).
    func run<Chunks: AsyncSequence>(chunks: Chunks, write: @escaping @Sendable ([UInt8]) async throws -> Void) async throws where Chunks.Element == [UInt8] {
        let (frames, sender) = AsyncStream<[UInt8]>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // One writer: frames leave in the order they were queued (a SYN_REPLY before the
            // stream's data).
            group.addTask {
                for await frame in frames { try await write(frame) }
            }
            var parser = SPDYFrame.Parser()
            let headerReader = SPDYHeaderReader()
            var headerWriter = SPDYHeaderWriter()
            var errorStreams: [String: UInt32] = [:]
            var inputs: [UInt32: AsyncStream<[UInt8]>.Continuation] = [:]
            var forwarders: [UInt32: Task<Void, Never>] = [:]
            defer {
                for input in inputs.values { input.finish() }
                for forwarder in forwarders.values { forwarder.cancel() }
            }
            reading: for try await chunk in chunks {
                parser.append(chunk)
                while let frame = try parser.next() {
                    switch frame {
                    case .synStream(let streamID, _, let block):
                        let headers = try headerReader.block(block)
                        sender.yield(SPDYFrame.synReply(streamID: streamID, headerBlock: headerWriter.block([])))
                        let requestID = headers["requestid"] ?? ""
                        switch headers["streamtype"] {
                        case "error":
                            errorStreams[requestID] = streamID
                        case "data":
                            let (input, feed) = AsyncStream<[UInt8]>.makeStream()
                            inputs[streamID] = feed
                            let forward = Forward(dataStream: streamID, errorStream: errorStreams[requestID], port: headers["port"] ?? "",
                                                  connect: connect, podName: podName, frames: sender, logger: logger)
                            forwarders[streamID] = Task { await forward.run(input: input) }
                        default:
                            sender.yield(SPDYFrame.reset(streamID: streamID, status: 1))  // PROTOCOL_ERROR
                        }
                    case .data(let streamID, let finished, let bytes):
                        if !bytes.isEmpty { inputs[streamID]?.yield(bytes) }
                        if finished { inputs.removeValue(forKey: streamID)?.finish() }
                    case .reset(let streamID, _):
                        inputs.removeValue(forKey: streamID)?.finish()
                        forwarders.removeValue(forKey: streamID)?.cancel()
                    case .ping(let id):
                        sender.yield(SPDYFrame.ping(id: id))
                    case .goAway:
                        break reading
                    case .ignored:
                        continue
                    }
                }
            }
            for forwarder in forwarders.values { forwarder.cancel() }
            for forwarder in forwarders.values { await forwarder.value }
            sender.finish()
            try await group.waitForAll()
        }
    }
}

/// One forwarded connection: the data stream's bytes to the pod's port and back.
private struct Forward: Sendable {
    let dataStream: UInt32
    let errorStream: UInt32?
    let port: String
    let connect: @Sendable (Int) async throws(BerthError) -> any ExecProcess
    let podName: String
    let frames: AsyncStream<[UInt8]>.Continuation
    let logger: Logger

    func fail(_ message: String) {
        if let errorStream {
            frames.yield(SPDYFrame.data(streamID: errorStream, finished: true, Array(message.utf8)))
        }
        frames.yield(SPDYFrame.data(streamID: dataStream, finished: true, []))
    }

    func run(input: AsyncStream<[UInt8]>) async {
        guard let number = Int(port), (1...65535).contains(number) else { return fail("invalid port \"\(port)\"") }
        let connection: any ExecProcess
        do throws(BerthError) {
            connection = try await connect(number)
        } catch {
            return fail(error.message)
        }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await (_, bytes) in connection.output {
                        var offset = 0
                        while offset < bytes.count {
                            let end = min(bytes.count, offset + 32 * 1024)
                            frames.yield(SPDYFrame.data(streamID: dataStream, finished: false, Array(bytes[offset..<end])))
                            offset = end
                        }
                    }
                    frames.yield(SPDYFrame.data(streamID: dataStream, finished: true, []))
                }
                group.addTask {
                    for await bytes in input { connection.write(bytes) }
                    connection.closeStdin()
                }
            }
        } onCancel: {
            connection.terminate()
        }
        connection.terminate()
        logger.debug("port-forward connection ended", metadata: ["pod": "\(podName)", "port": "\(number)"])
        if let errorStream { frames.yield(SPDYFrame.data(streamID: errorStream, finished: true, [])) }
    }
}
