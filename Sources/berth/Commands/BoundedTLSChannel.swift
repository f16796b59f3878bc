import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import HTTPTypes
import Logging
import BerthAPIServer
import NIOCore
import NIOHTTP1
import NIOSSL

/// TLS for the API server's connections with a ceiling on the ciphertext buffer each one keeps.
/// NIOSSL keeps a connection's outbound buffer at the largest size it ever needed (its default
/// ceiling is unlimited), and Hummingbird's own TLS channel uses that default: one 20 MB LIST
/// left 20 MB allocated for as long as the client kept the connection, and each watch
/// connection kept its largest burst. Past the ceiling the buffer is given back after the write.
struct BoundedTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value

    /// Several TLS records' worth: steady traffic reuses it, bursts allocate and let go.
    static var preservedOutboundBytes: Int { 256 * 1024 }

    let context: NIOSSLContext
    /// Replaces NIOSSL's chain check of client certificates when set.
    let verifyClientCertificate: (@Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void)?
    var baseChannel: BaseChannel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var configuration = NIOSSLHandler.Configuration()
            configuration.maximumPreservedOutboundBufferCapacity = Self.preservedOutboundBytes
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context, customVerificationCallback: verifyClientCertificate,
                                                                                     configuration: configuration))
        }.flatMap {
            baseChannel.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: BaseChannel.Value, logger: Logger) async {
        await baseChannel.handle(value: value, logger: logger)
    }
}

extension BoundedTLSChannel: HTTPChannelHandler where BaseChannel: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { baseChannel.responder }
}

extension HTTPServerBuilder {
    /// `.tls(.http1WebSocketUpgrade(shouldUpgrade:), tlsConfiguration:)` with the bounded
    /// outbound buffer, and every connection kept by a `ConnectionGuard` (timeouts, answers to
    /// malformed requests, closing what a peer abandons, a cap on open connections).
    static func boundedTLSWebSocket(
        tlsConfiguration: TLSConfiguration,
        verifyClientCertificate: (@Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>) -> Void)? = nil,
        webSocket: WebSocketServerConfiguration = .init(),
        limits: ConnectionLimits = ConnectionLimits(),
        counter: ConnectionCounter = ConnectionCounter(),
        spdyUpgrade: (@Sendable (HTTPRequestHead, any Channel) async -> SPDYUpgradeDecision)? = nil,
        shouldUpgrade: @escaping @Sendable (HTTPRequest, any Channel, Logger) async throws
            -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>
    ) throws -> HTTPServerBuilder {
        let context = try NIOSSLContext(configuration: tlsConfiguration)
        return HTTPServerBuilder { responder in
            let http = HTTP1WebSocketUpgradeChannel(responder: responder, configuration: .init(ws: webSocket), shouldUpgrade: shouldUpgrade)
            return BoundedTLSChannel(context: context, verifyClientCertificate: verifyClientCertificate,
                                     baseChannel: GuardedHTTPChannel(limits: limits, counter: counter, base: http, spdyUpgrade: spdyUpgrade))
        }
    }
}
