import AsyncHTTPClient
import BerthAPIServer
import BerthClient
import BerthCore
import Foundation
import HTTPTypes
import NIOCore
import NIOSSL

/// An exec session in a pod on a joined host: the API server opens the agent's
/// `/exec/NAMESPACE/POD` WebSocket (mutual TLS, the v5 channel protocol) and relays the
/// caller's streams through it, so `kubectl exec` works on every node.
final class RemoteExecProcess: ExecProcess {
    let output: AsyncStream<(stream: UInt8, bytes: [UInt8])>
    private let input: AsyncStream<ExecInput>.Continuation
    private let session: Task<Int32, Never>

    private init(output: AsyncStream<(stream: UInt8, bytes: [UInt8])>, input: AsyncStream<ExecInput>.Continuation, session: Task<Int32, Never>) {
        self.output = output
        self.input = input
        self.session = session
    }

    /// Opens the session and returns once the agent has started the process; an agent that
    /// refuses (no such pod or container, container not running) is asked over plain HTTPS for
    /// its reason, which is thrown as it is.
    static func start(endpoint: String, node: String, namespace: String, pod: String, request: PodExecRequest,
                      tls: TLSConfiguration, http: HTTPClient) async throws(BerthError) -> RemoteExecProcess {
        let verb = request.port != nil ? "portforward" : (request.attach ? "attach" : "exec")
        let port = request.port.map { "port=\($0)&" } ?? ""
        let path = "/\(verb)/\(namespace)/\(pod)?" + port + ExecChannel.query(command: request.command, container: request.container, stdin: request.stdin,
                                                                    stdout: request.stdout, stderr: request.stderr, tty: request.tty)
        let url = endpoint.replacingOccurrences(of: "https://", with: "wss://") + path
        let (output, outputContinuation) = AsyncStream<(stream: UInt8, bytes: [UInt8])>.makeStream()
        let (input, inputContinuation) = AsyncStream<ExecInput>.makeStream()
        let (ready, readyContinuation) = AsyncStream<ExecChannelError?>.makeStream()
        let session = Task<Int32, Never> {
            defer {
                outputContinuation.finish()
                readyContinuation.finish()
            }
            do throws(ExecChannelError) {
                // The node's certificate names the node; its address cannot go into SNI.
                return try await ExecChannel.run(url: url, headers: HTTPFields(), tls: tls, sniHostname: node, input: input,
                                                 connected: { readyContinuation.yield(nil) },
                                                 output: { channel, bytes in outputContinuation.yield((channel, bytes)) })
            } catch {
                readyContinuation.yield(error)
                return 1
            }
        }
        var outcome: ExecChannelError?? = .none
        for await first in ready {
            outcome = .some(first)
            break
        }
        switch outcome {
        case .some(.none):
            return RemoteExecProcess(output: output, input: inputContinuation, session: session)
        case .some(.some(.upgradeRefused)):
            throw await refusal(url: endpoint + path, node: node, http: http)
        case .some(.some(.failed(let reason))):
            throw BerthError(.unavailable, "failed to start exec on node \(node): \(reason)")
        case .none:
            throw BerthError(.unavailable, "failed to start exec on node \(node)")
        }
    }

    /// The agent's answer to the same request without the upgrade: its Status message.
    private static func refusal(url: String, node: String, http: HTTPClient) async -> BerthError {
        do {
            let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 16)
            let message = (try? JSONParser.parse(Array(body.readableBytesView)))?["message"]?.stringValue ?? String(buffer: body)
            return BerthError(BerthError.Code(httpStatus: Int(response.status.code)), message)
        } catch {
            return BerthError(.unavailable, "failed to reach the agent of node \(node): \(error)")
        }
    }

    func write(_ bytes: [UInt8]) { input.yield(.data(bytes)) }
    func closeStdin() { input.yield(.end) }
    func resize(width: UInt16, height: UInt16) { input.yield(.resize(width: Int(width), height: Int(height))) }
    func wait() async -> Int32 { await session.value }

    /// Closing the WebSocket makes the agent end the process.
    func terminate() {
        input.finish()
        session.cancel()
    }
}
