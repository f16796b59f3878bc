import BerthCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL

/// The client side of an exec session over the Kubernetes channel protocol (v5.channel.k8s.io):
/// every binary message starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 the final
/// Status, 4 terminal resize, 255 close of a stream. Used by `berth exec` against the API
/// server and by the API server against a joined host's agent.
public enum ExecChannel {
    /// Connects, relays `input` and `output` until the server closes, and returns the exit code
    /// from the Status on channel 3. `connected` runs once the WebSocket is open.
    /// Throws `upgradeRefused` when the server answered without upgrading (the caller can ask
    /// the same URL over plain HTTP for the reason).
    public static func run(url: String, headers: HTTPFields, tls: TLSConfiguration, sniHostname: String?, input: AsyncStream<ExecInput>,
                           connected: @escaping @Sendable () -> Void = {},
                           output: @escaping @Sendable (UInt8, [UInt8]) -> Void) async throws(ExecChannelError) -> Int32 {
        var headers = headers
        headers[.secWebSocketProtocol] = "v5.channel.k8s.io"
        let exitCode = ExitCodeBox()
        do {
            try await WebSocketClient.connect(
                url: url, configuration: .init(maxFrameSize: 1 << 20, additionalHeaders: headers, sniHostname: sniHostname), tlsConfiguration: tls,
                logger: Logger(label: "berth.exec")
            ) { inbound, outbound, _ in
                connected()
                let sender = Task {
                    for await item in input {
                        try? await outbound.write(.binary(Self.frame(item)))
                    }
                }
                defer { sender.cancel() }
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    guard case .binary(var buffer) = message, let channel = buffer.readInteger(as: UInt8.self) else { continue }
                    let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                    if channel == 3 {
                        exitCode.set(Self.exitCode(fromStatus: bytes))
                    } else if channel == 1 || channel == 2 {
                        output(channel, bytes)
                    }
                }
            }
        } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
            throw .upgradeRefused
        } catch {
            throw .failed("\(error)")
        }
        guard let code = exitCode.value else { throw .failed("the session ended without an exit status") }
        return code
    }

    /// One client message: stdin data, end of stdin, or a terminal size.
    static func frame(_ item: ExecInput) -> ByteBuffer {
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
        return buffer
    }

    /// The exit code in a channel-3 Status: 0 on Success, the ExitCode cause otherwise, 1 if
    /// the Status names none.
    public static func exitCode(fromStatus bytes: [UInt8]) -> Int32 {
        guard let status = try? JSONParser.parse(bytes) else { return 1 }
        if status["status"]?.stringValue == "Success" { return 0 }
        let cause = status["details"]?["causes"]?.arrayValue?.first { $0["reason"]?.stringValue == "ExitCode" }
        return Int32(cause?["message"]?.stringValue ?? "") ?? 1
    }

    /// `command=…&stdout=…` for an exec URL; every argument percent-encoded.
    public static func query(command: [String], container: String?, stdin: Bool, stdout: Bool, stderr: Bool, tty: Bool) -> String {
        var query = command.map { "command=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" }
        query += ["stdout=\(stdout)", "stderr=\(stderr)", "stdin=\(stdin)", "tty=\(tty)"]
        if let container { query.append("container=\(container.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? container)") }
        return query.joined(separator: "&")
    }
}

public enum ExecChannelError: Error, Sendable {
    /// The server answered the upgrade request with a normal HTTP response.
    case upgradeRefused
    case failed(String)
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
