import BerthCore
import Logging

/// `kubectl exec` and `attach` of kubectl 1.27–1.29: Kubernetes' remote command protocol
/// `v4.channel.k8s.io` over SPDY/3.1. The client opens one stream per channel, each named by its
/// `streamtype` header — `error`, and `stdin`, `stdout`, `stderr` or `resize` as asked — and the
/// session starts once all of them are open: the process's output goes out on stdout and stderr,
/// stdin comes in (its end closes the process's stdin), resize messages are JSON sizes, and the
/// exit ends the session with a `Status` on the error stream, as the kubelet writes it.
struct SPDYExecSession: Sendable {
    static let protocolVersion = "v4.channel.k8s.io"

    let process: any ExecProcess
    let request: PodExecRequest
    let logger: Logger

    /// The stream types the client opens for this request.
    var expected: Set<String> {
        var types: Set<String> = ["error"]
        if request.stdin { types.insert("stdin") }
        if request.stdout { types.insert("stdout") }
        if request.stderr && !request.tty { types.insert("stderr") }
        if request.tty { types.insert("resize") }
        return types
    }

    func run(_ connection: SPDYConnection) async {
        let (frames, sender) = AsyncStream<[UInt8]>.makeStream()
        await withDiscardingTaskGroup { group in
            // One writer, so frames leave in the order they were queued.
            group.addTask {
                for await frame in frames {
                    do { try await connection.write(frame) } catch { break }
                }
                // All written (the exit status last): the session is over.
                await connection.close()
            }
            var parser = SPDYFrame.Parser()
            let headerReader = SPDYHeaderReader()
            var headerWriter = SPDYHeaderWriter()
            var streams: [String: UInt32] = [:]
            var output: Task<Void, Never>?
            reading: for await chunk in connection.inbound {
                parser.append(chunk)
                while true {
                    let frame: SPDYFrame?
                    do { frame = try parser.next() } catch {
                        logger.debug("exec session: bad SPDY", metadata: ["error": "\(error)"])
                        break reading
                    }
                    guard let frame else { break }
                    switch frame {
                    case .synStream(let streamID, _, let block):
                        guard let headers = try? headerReader.block(block), let type = headers["streamtype"] else {
                            sender.yield(SPDYFrame.reset(streamID: streamID, status: 1))
                            continue
                        }
                        sender.yield(SPDYFrame.synReply(streamID: streamID, headerBlock: headerWriter.block([])))
                        streams[type] = streamID
                        if output == nil, expected.isSubset(of: Set(streams.keys)) {
                            output = Task { [streams] in await relayOutput(streams, sender) }
                        }
                    case .data(let streamID, let finished, let bytes):
                        if streamID == streams["stdin"] {
                            if !bytes.isEmpty { process.write(bytes) }
                            if finished { process.closeStdin() }
                        } else if streamID == streams["resize"], let size = try? JSONParser.parse(bytes),
                                  let width = size["Width"]?.intValue, let height = size["Height"]?.intValue {
                            process.resize(width: UInt16(clamping: width), height: UInt16(clamping: height))
                        }
                    case .reset(let streamID, _):
                        if streamID == streams["stdin"] { process.closeStdin() }
                    case .ping(let id):
                        sender.yield(SPDYFrame.ping(id: id))
                    case .goAway:
                        break reading
                    case .ignored:
                        continue
                    }
                }
            }
            // The client went away (or the output finished and closed the connection).
            if output == nil { process.terminate() }
            await output?.value
            sender.finish()
        }
    }

    /// Output to stdout and stderr, then the exit status on the error stream; then the
    /// connection ends.
    private func relayOutput(_ streams: [String: UInt32], _ sender: AsyncStream<[UInt8]>.Continuation) async {
        for await chunk in process.output {
            guard let streamID = chunk.stream == 2 ? streams["stderr"] ?? streams["stdout"] : streams["stdout"] else { continue }
            var offset = 0
            while offset < chunk.bytes.count {
                let end = min(chunk.bytes.count, offset + 32 * 1024)
                sender.yield(SPDYFrame.data(streamID: streamID, finished: false, Array(chunk.bytes[offset..<end])))
                offset = end
            }
        }
        for type in ["stdout", "stderr"] {
            if let streamID = streams[type] { sender.yield(SPDYFrame.data(streamID: streamID, finished: true, [])) }
        }
        let code = await process.wait()
        if let errorStream = streams["error"] {
            sender.yield(SPDYFrame.data(streamID: errorStream, finished: true, JSONWriter.bytes(APIServer.exitStatus(code, command: request.command))))
        }
        sender.finish()
    }
}
