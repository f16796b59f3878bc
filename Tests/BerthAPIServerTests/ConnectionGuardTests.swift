@testable import BerthAPIServer
import BerthCore
import BerthTestSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The connection guard on an embedded channel: bytes in, bytes out, a manual clock.
@Suite("connection guard", .blockingAllowed)
struct ConnectionGuardTests {
    /// Guard, HTTP decoder and encoder, and the observer, as `GuardedHTTPChannel` lays them out.
    func pipeline(_ limits: ConnectionLimits = ConnectionLimits(), overCapacity: Bool = false) throws -> (EmbeddedChannel, ConnectionGuard) {
        let channel = EmbeddedChannel()
        let connection = ConnectionGuard(limits: limits, overCapacity: overCapacity)
        try channel.pipeline.syncOperations.addHandler(connection)
        try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.pipeline.syncOperations.addHandler(HTTPExchangeObserver(connection: connection))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, connection)
    }

    func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { text += buffer.readString(length: buffer.readableBytes) ?? "" }
        return text
    }

    func respond(_ channel: EmbeddedChannel, status: HTTPResponseStatus = .ok) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: ["Content-Length": "0"])))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
    }

    @Test func aListenerWithoutFreeSlotsAnswers429WithRetryAfter() throws {
        let (channel, _) = try pipeline(overCapacity: true)
        try channel.writeInbound(ByteBuffer(string: "GET /version HTTP/1.1\r\nHost: x\r\n\r\n"))
        let answer = try written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 429 "))
        #expect(answer.contains("Retry-After: 1\r\n"))
        #expect(answer.contains("\"reason\":\"TooManyRequests\""))
        // Nothing reached the HTTP side.
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) == nil)
    }

    @Test func aHeadThatNeverEndsIs408AfterTheHeadTimeout() throws {
        let (channel, _) = try pipeline()
        try channel.writeInbound(ByteBuffer(string: "GET /version HTTP/1.1\r\nHost: x\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(14))
        #expect(try written(channel).isEmpty)
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        #expect(try written(channel).hasPrefix("HTTP/1.1 408 "))
    }

    @Test func aSilentConnectionIsClosedWithoutAnAnswer() throws {
        let (channel, _) = try pipeline()
        channel.embeddedEventLoop.advanceTime(by: .seconds(16))
        #expect(try written(channel).isEmpty)
        #expect(!channel.isActive)
    }

    @Test func keptAliveConnectionsGetTheIdleTimeoutThenClose() throws {
        let (channel, connection) = try pipeline()
        try channel.writeInbound(ByteBuffer(string: "GET /version HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(try channel.readInbound(as: HTTPServerRequestPart.self) != nil)
        try respond(channel)
        #expect(connection.phase == .awaitingHead(started: false))
        // Longer than the head timeout, shorter than the idle one: still open.
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(31))
        #expect(!channel.isActive)
    }

    @Test func anAnswerBeforeTheBodyClosesAndDrainsTheRest() throws {
        let (channel, connection) = try pipeline()
        try channel.writeInbound(ByteBuffer(string: "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"))
        try respond(channel, status: .payloadTooLarge)
        let answer = try written(channel)
        #expect(answer.hasPrefix("HTTP/1.1 413 "))
        #expect(answer.lowercased().contains("connection: close"))
        // An embedded channel cannot half-close, so the drain itself is checked over a real
        // socket (ConnectionLifecycleTests.anOversizedBodyGets413AndAnEndOfStream); here: the
        // guard stopped handing bytes to the HTTP side and ends the connection.
        #expect(connection.phase != .readingBody && connection.phase != .responding)
        try? channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "x"), count: 50_000))
        channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        #expect(!channel.isActive)
    }

    @Test func malformedHeadsAreAnsweredBelowHTTP() throws {
        let cases: [(String, String)] = [
            ("FROB /version HTTP/1.1\r\nHost: x\r\n\r\n", "501"),
            ("GET /version\r\n", "400"),
            ("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "400"),
            ("GET /" + String(repeating: "a", count: 70 * 1024) + " HTTP/1.1\r\n\r\n", "414"),
        ]
        for (request, status) in cases {
            let (channel, _) = try pipeline()
            try? channel.writeInbound(ByteBuffer(string: request))
            let answer = try written(channel)
            #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "\(request.prefix(40)): \(answer.prefix(60))")
            #expect(answer.contains("Connection: close"))
        }
    }

    @Test func webSocketHandshakesAreChecked() {
        func head(_ headers: [(String, String)]) -> HTTPRequestHead {
            HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x", headers: HTTPHeaders([("Upgrade", "websocket")] + headers))
        }
        #expect(HTTPExchangeObserver.webSocketHandshakeProblem(head([("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")])) == nil)
        #expect(HTTPExchangeObserver.webSocketHandshakeProblem(head([("Sec-WebSocket-Version", "7"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")])) != nil)
        #expect(HTTPExchangeObserver.webSocketHandshakeProblem(head([("Sec-WebSocket-Version", "13")])) != nil)
        #expect(HTTPExchangeObserver.webSocketHandshakeProblem(head([("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "c2hvcnQ=")])) != nil)
        #expect(HTTPExchangeObserver.webSocketHandshakeProblem(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/x")) == nil)
    }

    @Test func inflightRequestsAreCappedButLongRunningOnesAreNot() throws {
        let limit = InflightLimit(maximumReadOnly: 2, maximumMutating: 1)
        let first = try limit.enter(.get, path: "/api/v1/pods", query: nil)
        let second = try limit.enter(.get, path: "/api/v1/pods", query: nil)
        let error = #expect(throws: BerthError.self) { try limit.enter(.get, path: "/api/v1/pods", query: nil) }
        #expect(error?.code == .tooManyRequests)
        #expect(error?.details?.retryAfterSeconds == 1)
        // Watches and exec are not counted; writes have their own cap.
        #expect(try limit.enter(.get, path: "/api/v1/pods", query: "watch=true") == nil)
        #expect(try limit.enter(.get, path: "/api/v1/namespaces/a/pods/b/exec", query: "command=ls") == nil)
        #expect(try limit.enter(.get, path: "/api/v1/watch/namespaces/a/pods", query: nil) == nil)
        #expect(try limit.enter(.get, path: "/api/v1/nodes/n1/proxy/stats/summary", query: nil) == nil)
        // A namespace called "proxy" or "watch" is counted like any other.
        #expect(throws: BerthError.self) { try limit.enter(.get, path: "/api/v1/namespaces/proxy/pods", query: nil) }
        #expect(throws: BerthError.self) { try limit.enter(.get, path: "/api/v1/namespaces/watch/pods", query: nil) }
        let write = try limit.enter(.post, path: "/api/v1/namespaces/a/pods", query: nil)
        #expect(throws: BerthError.self) { try limit.enter(.delete, path: "/api/v1/namespaces/a/pods/b", query: nil) }
        for slot in [first, second, write].compactMap({ $0 }) { limit.leave(slot) }
        #expect(try limit.enter(.get, path: "/api/v1/pods", query: nil) == .readOnly)
    }
}
