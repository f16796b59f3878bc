import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// An HTTP/1 server channel (Hummingbird's, with or without WebSocket upgrades) with a
/// `ConnectionGuard` in front of it and an `HTTPExchangeObserver` right after its decoder.
/// Every Berth listener serves through one.
public struct GuardedHTTPChannel<Base: HTTPChannelHandler>: ServerChildChannel, HTTPChannelHandler {
    public typealias Value = Base.Value

    let limits: ConnectionLimits
    let counter: ConnectionCounter
    var base: Base
    /// Decides SPDY upgrades (kubectl 1.27–1.29's exec, attach, port-forward); nil passes them
    /// on to the HTTP side like any request.
    let spdyUpgrade: (@Sendable (HTTPRequestHead, any Channel) async -> SPDYUpgradeDecision)?

    public init(limits: ConnectionLimits, counter: ConnectionCounter, base: Base,
                spdyUpgrade: (@Sendable (HTTPRequestHead, any Channel) async -> SPDYUpgradeDecision)? = nil) {
        self.limits = limits
        self.counter = counter
        self.base = base
        self.spdyUpgrade = spdyUpgrade
    }

    public var responder: HTTPChannelHandler.Responder { base.responder }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let counter = counter
        let admitted = counter.take(limit: limits.maximumConnections)
        if admitted {
            channel.closeFuture.whenComplete { _ in counter.release() }
        }
        let connection = ConnectionGuard(limits: limits, overCapacity: !admitted)
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(connection)
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let observer = HTTPExchangeObserver(connection: connection)
            try channel.pipeline.syncOperations.addHandler(observer, position: .after(decoder))
            if let spdyUpgrade {
                try channel.pipeline.syncOperations.addHandler(SPDYUpgradeInterceptor(decide: spdyUpgrade), position: .after(observer))
            }
            return value
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
        // The base returns without closing when its first request never became one (a head
        // the decoder refused, a failed upgrade): the descriptor would stay open for good.
        let channel = value.channel
        try? await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: ConnectionGuard.self).abandoned()
        }.get()
    }
}

extension Channel {
    /// Makes a WebSocket upgrade this connection is about to decline answer with the given
    /// Status instead of a bare 400 (see `HTTPExchangeObserver.refuseUpgrade`).
    func refuseUpgrade(status: Int, reason: String, message: String) async {
        let refusal = HTTPRefusal(status: status, reason: reason, message: message)
        try? await eventLoop.submit {
            try self.pipeline.syncOperations.handler(type: HTTPExchangeObserver.self).refuseUpgrade(refusal)
        }.get()
    }
}
