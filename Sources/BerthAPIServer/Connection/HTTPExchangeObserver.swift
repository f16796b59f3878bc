import NIOCore
import NIOHTTP1

/// Sits right after the HTTP decoder (before the WebSocket upgrade handler, so it sees every
/// request, the first one and upgrades included) and tells the connection's `ConnectionGuard`
/// where requests and responses begin and end. It also answers heads the decoder could not
/// read, and turns the bare 400 of a refused upgrade into the refusal's own Status.
final class HTTPExchangeObserver: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let connection: ConnectionGuard
    /// Requests whose head came in and whose response is not finished yet (pipelining).
    private var open = 0
    /// The current response said `Connection: close` (or must, its request being unread).
    private var closeAfterResponse = false
    /// The decoder failed inside a body: nothing after this response can be read.
    private var decoderFailed = false
    /// Set by `refuseUpgrade` before the upgrade is declined: written instead of the bare 400.
    private var upgradeRefusal: HTTPRefusal?
    private var replacingResponse = false

    init(connection: ConnectionGuard) {
        self.connection = connection
    }

    /// A request was answered here; what is left of it is dropped.
    private var refusedHere = false

    /// After a 101: what passes is another protocol's bytes, handed on untouched until this
    /// handler has left the pipeline.
    private var upgraded = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if upgraded {
            context.fireChannelRead(data)
            return
        }
        let part = unwrapInboundIn(data)
        if refusedHere { return }
        switch part {
        case .head(let head):
            if let problem = Self.webSocketHandshakeProblem(head) {
                // NIO's upgrader fails such a handshake without answering and leaves the
                // connection to die; answer it as Go's WebSocket servers do.
                refusedHere = true
                connection.refuse(HTTPRefusal(status: 400, reason: "Bad Request", message: "bad WebSocket handshake: \(problem)"))
                return
            }
            open += 1
            if !head.isKeepAlive { closeAfterResponse = true }
            connection.requestHeadArrived()
        case .body:
            break
        case .end:
            connection.requestEnded()
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if case .awaitingHead = connection.phase {
            // No request to hand the error to: answer it here. Not passed on, so the HTTP
            // side sees only the end of the connection.
            connection.refuse(HTTPRefusal.parseFailure(parse, requestLineComplete: connection.requestLineDone))
            return
        }
        // Inside a body: the handler reading it gets the error and answers 400; the
        // connection cannot go on after that answer.
        decoderFailed = true
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if upgraded {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            connection.responseInProgress = true
            if head.status == .switchingProtocols {
                connection.upgraded()
                upgraded = true
                context.write(data, promise: promise)
                // Leaves once the upgrade handler's write-and-flush has passed: removed inside
                // this write, the flush that follows it was lost and the 101 never sent.
                context.eventLoop.assumeIsolated().execute {
                    context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                }
                return
            }
            if let refusal = upgradeRefusal, head.status == .badRequest {
                upgradeRefusal = nil
                replacingResponse = true
                let body = refusal.body()
                context.write(wrapOutboundOut(.head(refusal.head(contentLength: body.count))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: promise)
                closeAfterResponse = true
                return
            }
            if connection.requestIncomplete || decoderFailed || closeAfterResponse || head.headers[canonicalForm: "connection"].contains("close") {
                closeAfterResponse = true
                head.headers.replaceOrAdd(name: "Connection", value: "close")
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            if replacingResponse {
                promise?.succeed()
                return
            }
            context.write(data, promise: promise)
        case .end:
            connection.responseInProgress = false
            replacingResponse = false
            open -= 1
            let mustClose = closeAfterResponse || decoderFailed
            let pipelined = open > 0
            closeAfterResponse = false
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenComplete { [connection] _ in
                connection.responseEnded(close: mustClose, pipelined: pipelined)
            }
            promise.map { written.futureResult.cascade(to: $0) }
            context.write(data, promise: written)
        }
    }

    /// What is wrong with a WebSocket upgrade request (RFC 6455 §4.2.1), or nil when it is
    /// not one or is well formed.
    static func webSocketHandshakeProblem(_ head: HTTPRequestHead) -> String? {
        guard head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" }) else { return nil }
        guard head.headers[canonicalForm: "sec-websocket-version"].first == "13" else {
            return "Sec-WebSocket-Version must be 13"
        }
        guard let key = head.headers.first(name: "sec-websocket-key"), Self.base64DecodedCount(key) == 16 else {
            return "Sec-WebSocket-Key must be 16 bytes in base64"
        }
        return nil
    }

    /// The decoded length of a base64 text, or nil when it is not base64.
    static func base64DecodedCount(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count % 4 == 0 else { return nil }
        let padding = bytes.reversed().prefix { $0 == UInt8(ascii: "=") }.count
        guard padding <= 2 else { return nil }
        let isAlphabet: (UInt8) -> Bool = { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 43 || $0 == 47 }
        guard bytes.dropLast(padding).allSatisfy(isAlphabet) else { return nil }
        return bytes.count / 4 * 3 - padding
    }

    /// Makes a declined WebSocket upgrade answer with `refusal` (401, 404) instead of the
    /// framework's bare 400, which kubectl can only print as "unexpected EOF".
    func refuseUpgrade(_ refusal: HTTPRefusal) {
        upgradeRefusal = refusal
    }
}
