import BerthCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// `pods/{name}/exec` over WebSocket with the Kubernetes channel protocols (v5.channel.k8s.io,
/// v4.channel.k8s.io): every binary message starts with a channel byte — 0 stdin, 1 stdout,
/// 2 stderr, 3 the final Status, 4 terminal resize, 255 (v5) close of a stream.
extension APIServer {
    public static let execProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]

    /// Decides a WebSocket upgrade: only exec requests that authenticate, name a running
    /// container and speak a supported protocol are upgraded; anything else goes on to the
    /// normal responder, which answers with the right error.
    public func shouldUpgrade(_ request: HTTPRequest, channel: (any Channel)? = nil,
                              logger: Logger) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let full = request.path ?? ""
        let path = String(full.split(separator: "?", maxSplits: 1).first ?? "")
        let segments = path.split(separator: "/").map(String.init)
        if segments.count == 7, segments[0] == "api", segments[1] == "v1", segments[2] == "namespaces", segments[4] == "pods",
           segments[6] == "portforward" {
            return await shouldUpgradePortForward(request, path: path, namespace: segments[3], name: segments[5], channel: channel, logger: logger)
        }
        guard segments.count == 7, segments[0] == "api", segments[1] == "v1", segments[2] == "namespaces", segments[4] == "pods",
              segments[6] == "exec" || segments[6] == "attach" else { return .dontUpgrade }
        let offered = (request.headerFields[.secWebSocketProtocol] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let chosen = Self.execProtocols.first(where: offered.contains) else { return .dontUpgrade }
        guard await authorizeUpgrade(request, path: path, namespace: segments[3], name: segments[5], subresource: segments[6], channel: channel) else {
            return .dontUpgrade
        }
        let query = QueryParameters(full.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init))
        let started: (PodExecRequest, any ExecProcess)
        do throws(BerthError) {
            started = segments[6] == "attach" ? try await startAttach(namespace: segments[3], name: segments[5], query: query)
                : try await startExec(namespace: segments[3], name: segments[5], query: query)
        } catch where error.code == .notFound {
            // As Kubernetes: a pod that does not exist is a 404 before any upgrade.
            await channel?.refuseUpgrade(status: 404, reason: "Not Found", message: error.message)
            return .dontUpgrade
        } catch {
            // A refused upgrade reaches kubectl as a bare "400, Connection: close" ("unexpected
            // EOF"); upgraded, the reason travels as the Status on the error channel, which
            // kubectl prints.
            var headers = HTTPFields()
            headers[.secWebSocketProtocol] = chosen
            return .upgrade(headers) { _, outbound, _ in
                var status = ByteBuffer()
                status.writeInteger(UInt8(3))
                status.writeBytes(JSONWriter.bytes((try? JSONValue(encoding: Status(error: error))) ?? [:]))
                try await outbound.write(.binary(status))
                try await outbound.close(.normalClosure, reason: nil)
            }
        }
        let (execRequest, process) = started
        logger.debug("exec started", metadata: ["pod": "\(segments[3])/\(segments[5])", "command": "\(execRequest.command)"])
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = chosen
        return .upgrade(headers) { inbound, outbound, _ in
            try await Self.relay(process, request: execRequest, inbound: inbound, outbound: outbound)
        }
    }

    /// Validates an exec request and starts the process on the pod's node.
    func startExec(namespace: String, name: String, query: QueryParameters) async throws(BerthError) -> (PodExecRequest, any ExecProcess) {
        var request = PodExecRequest()
        request.container = query["container"]
        request.command = query.all("command")
        request.stdin = query.flag("stdin")
        request.stdout = query["stdout"].map { _ in query.flag("stdout") } ?? true
        request.stderr = query["stderr"].map { _ in query.flag("stderr") } ?? true
        request.tty = query.flag("tty")
        guard !request.command.isEmpty else {
            throw BerthError.invalid(kind: "PodExecOptions", name: name, causes: [.required("command")])
        }
        let pod = try await storage.get(.pod, namespace: namespace, name: name)
        guard let node = pod.value(at: ["spec", "nodeName"])?.stringValue, !node.isEmpty else {
            throw BerthError(.badRequest, "pod \(name) does not have a host assigned")
        }
        guard let provider = nodeStreams.current else { throw BerthError(.unavailable, "no agent serves node \(node) from this server yet") }
        let process = try await provider.exec(node: node, namespace: namespace, pod: name, request: request)
        return (request, process)
    }

    /// Drives an exec process from a channel-protocol WebSocket until either side ends; the
    /// agents of joined hosts serve their end of a remote exec with it too.
    public static func relay(_ process: any ExecProcess, request: PodExecRequest, inbound: WebSocketInboundStream,
                      outbound: WebSocketOutboundWriter) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await chunk in process.output {
                    if (chunk.stream == 1 && !request.stdout) || (chunk.stream == 2 && !request.stderr) { continue }
                    var buffer = ByteBuffer()
                    buffer.writeInteger(chunk.stream)
                    buffer.writeBytes(chunk.bytes)
                    try await outbound.write(.binary(buffer))
                }
                let code = await process.wait()
                var status = ByteBuffer()
                status.writeInteger(UInt8(3))
                status.writeBytes(JSONWriter.bytes(Self.exitStatus(code, command: request.command)))
                try await outbound.write(.binary(status))
                try await outbound.close(.normalClosure, reason: nil)
                return true
            }
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    guard case .binary(var buffer) = message, let channel = buffer.readInteger(as: UInt8.self) else { continue }
                    let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                    switch channel {
                    case 0: process.write(bytes)
                    case 4:
                        if let size = try? JSONParser.parse(bytes), let width = size["Width"]?.intValue, let height = size["Height"]?.intValue {
                            process.resize(width: UInt16(clamping: width), height: UInt16(clamping: height))
                        }
                    case 255 where bytes.first == 0: process.closeStdin()
                    default: continue
                    }
                }
                return false
            }
            // The client leaving first ends the process; the process ending first ends the session.
            if try await group.next() == false { process.terminate() }
            group.cancelAll()
        }
    }

    /// The Status kubectl reads from channel 3 for the exit code.
    static func exitStatus(_ code: Int32, command: [String]) -> JSONValue {
        guard code != 0 else { return ["metadata": [:], "status": "Success"] }
        return [
            "metadata": [:], "status": "Failure", "reason": "NonZeroExitCode",
            "message": .string("command terminated with non-zero exit code: error executing command \(command), exit code \(code)"),
            "details": ["causes": [["reason": "ExitCode", "message": .string(String(code))]]],
        ]
    }
}
