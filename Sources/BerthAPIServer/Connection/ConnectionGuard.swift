import BerthCore
import NIOCore

/// The first handler after TLS on every HTTP connection: it keeps the connection's clock and
/// decides when it ends. It sees bytes only; `HTTPExchangeObserver`, right after the HTTP
/// decoder, tells it where requests and responses begin and end.
///
/// Without it a connection lived as long as its peer liked: a client that never finished its
/// request head, or sat idle between requests, held a descriptor forever; a malformed request
/// got no answer and no close; a sender refused before its body was read blocked forever
/// writing a body nobody read.
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    enum Phase: Equatable {
        /// Waiting for a request head; `started` once its first byte came (or at accept).
        case awaitingHead(started: Bool)
        /// The head came, the body has not ended.
        case readingBody
        /// The request is read; the answer (possibly a long watch) is not finished.
        case responding
        /// Handed over to WebSocket or another protocol: no HTTP clock any more.
        case upgraded
        /// Answered and half-closed; the rest of the peer's body is read and dropped.
        case lingering(bytesLeft: Int)
        case closed
    }

    let limits: ConnectionLimits
    /// The listener had no free slot: the first request is answered 429 and the connection closed.
    let overCapacity: Bool
    private(set) var phase: Phase = .awaitingHead(started: true)
    /// Bytes of the current request line so far, until its line end is seen.
    private var requestLineBytes = 0
    private var requestLineComplete = false
    private var timer: Scheduled<Void>?
    private weak var context: ChannelHandlerContext?

    init(limits: ConnectionLimits, overCapacity: Bool = false) {
        self.limits = limits
        self.overCapacity = overCapacity
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(limits.requestHeadTimeout)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        phase = .closed
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .lingering(let left):
            let count = unwrapInboundIn(data).readableBytes
            if count >= left { close() } else { phase = .lingering(bytesLeft: left - count) }
            return
        case .closed:
            return
        case .awaitingHead where overCapacity:
            refuse(HTTPRefusal(status: 429, reason: "Too Many Requests", message: "too many open connections to this server; try again later",
                               retryAfterSeconds: 1))
            return
        case .awaitingHead(let started):
            if !started {
                phase = .awaitingHead(started: true)
                arm(limits.requestHeadTimeout)
            }
            if !requestLineComplete, let refusal = measureRequestLine(unwrapInboundIn(data)) {
                refuse(refusal)
                return
            }
        case .readingBody:
            arm(limits.bodyStallTimeout)
        case .responding, .upgraded:
            break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // A lingering connection is read by this handler alone: the HTTP side above may have
        // stopped asking for reads (its buffer is full), so the drain asks for them itself.
        if case .lingering = phase {
            context.read()
            return
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .lingering = phase, let event = event as? ChannelEvent, event == .inputClosed {
            close()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// What is wrong with the request line so far, if anything: too long without a line end
    /// (414), or ending without an HTTP/1.x version. The decoder waits for more on an HTTP/0.9
    /// line ("GET /path"), so that one is answered here.
    private func measureRequestLine(_ buffer: ByteBuffer) -> HTTPRefusal? {
        let view = buffer.readableBytesView
        let end = view.firstIndex(of: UInt8(ascii: "\n"))
        requestLineBytes += (end ?? view.endIndex) - view.startIndex
        guard requestLineBytes <= limits.maximumRequestLineBytes else {
            return HTTPRefusal(status: 414, reason: "URI Too Long", message: "the request line is longer than \(limits.maximumRequestLineBytes) bytes")
        }
        guard let end else { return nil }
        requestLineComplete = true
        var lineEnd = end
        if lineEnd > view.startIndex, view[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        // The version is the line's last 8 bytes; checked when they are all in this read.
        guard lineEnd - view.startIndex >= 8 else { return nil }
        let version = view[(lineEnd - 8)..<lineEnd]
        if version.elementsEqual("HTTP/1.1".utf8) || version.elementsEqual("HTTP/1.0".utf8) { return nil }
        if version.elementsEqual("HTTP/2.0".utf8) { return nil }  // the decoder answers the HTTP/2 preface
        return HTTPRefusal.malformedRequestLine
    }

    // MARK: Told by the HTTP side

    func requestHeadArrived() {
        if case .awaitingHead = phase {
            phase = .readingBody
            arm(limits.bodyStallTimeout)
        }
    }

    func requestEnded() {
        if phase == .readingBody {
            phase = .responding
            disarm()
        }
    }

    /// Whether the current request's first line has ended (a head too large before that is 414).
    var requestLineDone: Bool { requestLineComplete }

    /// Whether the request being answered still has body bytes to come.
    var requestIncomplete: Bool { phase == .readingBody }

    /// The response is written (and flushed). `close` when it said `Connection: close`;
    /// `pipelined` when the next request's head is already in.
    func responseEnded(close mustClose: Bool, pipelined: Bool) {
        switch phase {
        case .readingBody:
            // Answered before the body was read: say so by an end of stream, and read the
            // rest so the sender's writes complete.
            linger()
        case .responding, .awaitingHead:
            if mustClose {
                close()
            } else if !pipelined {
                startNextExchange()
            }
        case .upgraded, .lingering, .closed:
            break
        }
    }

    /// A response head went out and its end has not yet.
    var responseInProgress = false

    /// The HTTP side gave up on the connection. A request it neither answered nor upgraded
    /// (NIO refuses an upgrade with a bad `Sec-WebSocket-Key` or version by failing, not by
    /// answering) gets a 400 before the close.
    func abandoned() {
        switch phase {
        case .readingBody, .responding where !responseInProgress:
            refuse(HTTPRefusal(status: 400, reason: "Bad Request", message: "the request could not be served (a malformed upgrade?)"))
        default:
            close()
        }
    }

    func upgraded() {
        phase = .upgraded
        disarm()
    }

    /// The decoder could not read a request head: answer with `refusal` and close.
    func refuse(_ refusal: HTTPRefusal) {
        guard let context, phase != .closed else { return }
        context.writeAndFlush(NIOAny(refusal.encoded()), promise: nil)
        linger()
    }

    // MARK: Clock

    private func startNextExchange() {
        phase = .awaitingHead(started: false)
        requestLineBytes = 0
        requestLineComplete = false
        arm(limits.idleTimeout)
    }

    private func linger() {
        guard let context else { return }
        phase = .lingering(bytesLeft: limits.lingerBytes)
        arm(limits.lingerTimeout)
        context.close(mode: .output, promise: nil)
        context.read()
    }

    private func close() {
        guard let context, phase != .closed else { return }
        phase = .closed
        disarm()
        context.close(promise: nil)
    }

    private func arm(_ after: TimeAmount) {
        disarm()
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: after) { [weak self] in
            self?.timerFired()
        }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }

    private func timerFired() {
        timer = nil
        switch phase {
        case .awaitingHead(started: true) where requestLineBytes > 0:
            refuse(HTTPRefusal(status: 408, reason: "Request Timeout", message: "the request head did not arrive in time"))
        case .awaitingHead, .readingBody, .lingering:
            close()
        case .responding, .upgraded, .closed:
            break
        }
    }
}
