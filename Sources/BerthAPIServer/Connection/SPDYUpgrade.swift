import NIOCore
import NIOHTTP1

/// The upgraded connection of a SPDY session, as bytes: what the client sends, and a way to send
/// and to end. kubectl 1.27–1.29 ask `Upgrade: SPDY/3.1` for exec, attach and port-forward and
/// then speak SPDY on the connection itself (1.30 and later tunnel it in WebSocket messages).
public struct SPDYConnection: Sendable {
    public let inbound: AsyncStream<[UInt8]>
    public let write: @Sendable ([UInt8]) async throws -> Void
    public let close: @Sendable () async -> Void
}

/// What the server decides about a SPDY upgrade request.
public enum SPDYUpgradeDecision: Sendable {
    /// Answered with this Status (401, 403, 404, 400…), as a normal response; no upgrade.
    case refuse(status: Int, reason: String, statusJSON: [UInt8])
    /// 101 Switching Protocols with these headers, then `session` owns the connection.
    case upgrade(headers: [(String, String)], session: @Sendable (SPDYConnection) async -> Void)
}

/// Sits after `HTTPExchangeObserver` and takes the SPDY upgrade requests off the HTTP path:
/// the request is held (reads paused) while the server decides; a refusal is written as a
/// normal response; an upgrade writes the 101, takes the HTTP codec out of the pipeline and
/// hands the raw connection to the session through `SPDYByteBridge`. Everything else passes.
final class SPDYUpgradeInterceptor: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Another upgrade (WebSocket) went ahead: what passes now is not HTTP.
    private var passThrough = false

    let decide: @Sendable (HTTPRequestHead, any Channel) async -> SPDYUpgradeDecision
    /// Parts of the intercepted request after its head are dropped (an exec has no body).
    private var intercepting = false

    init(decide: @escaping @Sendable (HTTPRequestHead, any Channel) async -> SPDYUpgradeDecision) {
        self.decide = decide
    }

    static func isSPDYUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers[canonicalForm: "upgrade"].contains { $0.lowercased().hasPrefix("spdy/") }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if !passThrough, case .head(let head) = unwrapOutboundIn(data), head.status == .switchingProtocols {
            // Leaves once the upgrader's write has passed (as `HTTPExchangeObserver` does).
            passThrough = true
            context.write(data, promise: promise)
            context.eventLoop.assumeIsolated().execute {
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            }
            return
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if passThrough {
            context.fireChannelRead(data)
            return
        }
        let part = unwrapInboundIn(data)
        if case .head(let head) = part, Self.isSPDYUpgrade(head) {
            intercepting = true
            // The client sends SPDY only after the 101; reads wait until the codec is gone.
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let (decide, channel, loop) = (self.decide, context.channel, context.eventLoop)
            Task {
                let decision = await decide(head, channel)
                loop.execute {
                    let (handler, context) = bound.value
                    handler.apply(decision, context: context)
                }
            }
            return
        }
        if intercepting { return }
        context.fireChannelRead(data)
    }

    private func apply(_ decision: SPDYUpgradeDecision, context: ChannelHandlerContext) {
        switch decision {
        case .refuse(let status, let reason, let body):
            var headers = HTTPHeaders([("Content-Type", "application/json"), ("Content-Length", String(body.count)), ("Connection", "close")])
            headers.replaceOrAdd(name: "Cache-Control", value: "no-cache, private")
            let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status, reasonPhrase: reason), headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .upgrade(let extra, let session):
            var headers = HTTPHeaders([("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1")])
            for (name, value) in extra { headers.add(name: name, value: value) }
            let head = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
            context.writeAndFlush(wrapOutboundOut(.head(head))).assumeIsolated().whenComplete { [self] result in
                guard case .success = result else { return context.close(promise: nil) }
                do {
                    let pipeline = context.pipeline.syncOperations
                    if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) { pipeline.removeHandler(decoder, promise: nil) }
                    if let encoder = try? pipeline.handler(type: HTTPResponseEncoder.self) { pipeline.removeHandler(encoder, promise: nil) }
                    let bridge = SPDYByteBridge()
                    try pipeline.addHandler(bridge, position: .after(self))
                    pipeline.removeHandler(context: context, promise: nil)
                    let connection = bridge.connection(eventLoop: context.eventLoop)
                    bridge.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                    Task {
                        await session(connection)
                        await connection.close()
                    }
                } catch {
                    context.close(promise: nil)
                }
            }
        }
    }
}

/// Raw bytes of an upgraded connection to and from an async session. Sits where the
/// interceptor was: what it writes passes only the connection guard and TLS.
final class SPDYByteBridge: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    private let stream: AsyncStream<[UInt8]>
    private let feed: AsyncStream<[UInt8]>.Continuation
    var channel: any Channel { context!.channel }

    init() {
        (stream, feed) = AsyncStream<[UInt8]>.makeStream(bufferingPolicy: .unbounded)
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        feed.finish()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        feed.yield(Array(unwrapInboundIn(data).readableBytesView))
    }

    func channelInactive(context: ChannelHandlerContext) {
        feed.finish()
        context.fireChannelInactive()
    }

    func connection(eventLoop: any EventLoop) -> SPDYConnection {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        return SPDYConnection(inbound: stream, write: { bytes in
            try await eventLoop.flatSubmit {
                guard let context = bound.value.context else { return eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel) }
                return context.writeAndFlush(bound.value.wrapOutboundOut(ByteBuffer(bytes: bytes)))
            }.get()
        }, close: {
            try? await eventLoop.flatSubmit {
                guard let context = bound.value.context else { return eventLoop.makeSucceededVoidFuture() }
                let promise = eventLoop.makePromise(of: Void.self)
                context.close(promise: promise)
                return promise.futureResult
            }.get()
        })
    }
}
