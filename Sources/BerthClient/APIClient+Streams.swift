import AsyncHTTPClient
import BerthCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL

extension APIClient {
    /// Streams a response body as it arrives (`pods/{name}/log?follow=true`).
    public func stream(_ path: String) async throws(BerthError) -> AsyncThrowingStream<[UInt8], any Error> {
        var request = HTTPClientRequest(url: config.server + path)
        if let token = config.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: .distantFuture)
        } catch {
            throw BerthError(.unavailable, "failed to reach \(config.server): \(error)")
        }
        if response.status.code >= 300 {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            _ = try Reply(status: Int(response.status.code), body: body, warnings: []).checked()
        }
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let task = Task {
            do {
                for try await chunk in response.body { continuation.yield(Array(chunk.readableBytesView)) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Runs a command in a container over the v5 channel protocol; `input` feeds stdin (and
    /// terminal resizes), `output` receives stdout (1) and stderr (2). Returns the exit code.
    public func exec(namespace: String, pod: String, container: String?, command: [String], stdin: Bool, tty: Bool,
                     input: AsyncStream<ExecInput>, output: @escaping @Sendable (UInt8, [UInt8]) -> Void) async throws(BerthError) -> Int32 {
        var query = command.map { "command=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" }
        query += ["stdout=true", "stderr=\(!tty)", "stdin=\(stdin)", "tty=\(tty)"]
        if let container { query.append("container=\(container)") }
        let url = config.server.replacingOccurrences(of: "https://", with: "wss://").replacingOccurrences(of: "http://", with: "ws://")
            + "/api/v1/namespaces/\(namespace)/pods/\(pod)/exec?" + query.joined(separator: "&")
        var headers = HTTPFields()
        if let token = config.token { headers[.authorization] = "Bearer \(token)" }
        headers[.secWebSocketProtocol] = "v5.channel.k8s.io"
        var tls = TLSConfiguration.makeClientConfiguration()
        if config.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        } else if let ca = config.certificateAuthority, let roots = try? NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)) {
            tls.trustRoots = .certificates(roots)
        }
        // NIOSSL cannot put an IP address in SNI; the cluster certificate also names "berth",
        // and trust is anchored in the cluster CA either way.
        let host = URL(string: config.server)?.host ?? ""
        let sni = host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) ? "berth" : nil
        let exitCode = ExitCodeBox()
        do {
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers, sniHostname: sni), tlsConfiguration: tls,
                logger: Logger(label: "berth.client.exec")
            ) { inbound, outbound, _ in
                let sender = Task {
                    for await item in input {
                        var buffer = ByteBuffer()
                        switch item {
                        case .data(let bytes):
                            buffer.writeInteger(UInt8(0))
                            buffer.writeBytes(bytes)
                        case .end:
                            buffer.writeBytes([255, 0])
                        case .resize(let width, let height):
                            buffer.writeInteger(UInt8(4))
                            buffer.writeString("{\"Width\":\(width),\"Height\":\(height)}")
                        }
                        try? await outbound.write(.binary(buffer))
                    }
                }
                defer { sender.cancel() }
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    guard case .binary(var buffer) = message, let channel = buffer.readInteger(as: UInt8.self) else { continue }
                    let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                    if channel == 3 {
                        exitCode.set(Self.exitCode(fromStatus: bytes))
                    } else {
                        output(channel, bytes)
                    }
                }
            }
        } catch {
            throw BerthError(.unavailable, "exec failed: \(error)")
        }
        guard let code = exitCode.value else { throw BerthError(.unavailable, "exec ended without an exit status") }
        return code
    }

    static func exitCode(fromStatus bytes: [UInt8]) -> Int32 {
        guard let status = try? JSONParser.parse(bytes) else { return 1 }
        if status["status"]?.stringValue == "Success" { return 0 }
        let cause = status["details"]?["causes"]?.arrayValue?.first { $0["reason"]?.stringValue == "ExitCode" }
        return Int32(cause?["message"]?.stringValue ?? "") ?? 1
    }
}

/// What a client sends into an exec session.
public enum ExecInput: Sendable {
    case data([UInt8])
    case end
    case resize(width: Int, height: Int)
}

final class ExitCodeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var code: Int32?
    func set(_ value: Int32) { lock.withLock { code = value } }
    var value: Int32? { lock.withLock { code } }
}
