import NIOCore
import Synchronization

/// What every listener (the API, an agent's endpoint) allows one connection and all of them.
/// Each bound says what a client could otherwise hold for as long as it liked: a descriptor
/// (the hard limit here is 20,000), a buffer, or a task.
public struct ConnectionLimits: Sendable {
    /// From accept (the TLS handshake included), or from a kept-alive connection's first byte,
    /// until the request head is complete (Go's `ReadHeaderTimeout`).
    public var requestHeadTimeout: TimeAmount = .seconds(15)
    /// A kept-alive connection with no request in progress is closed after this long.
    public var idleTimeout: TimeAmount = .seconds(90)
    /// A request body that stops arriving: no byte for this long closes the connection.
    public var bodyStallTimeout: TimeAmount = .seconds(60)
    /// After answering a request whose body was not read (413, 401), the rest of it is read
    /// and dropped for at most this long and this many bytes, so the sender sees the answer
    /// and an end of stream instead of a write that blocks forever.
    public var lingerTimeout: TimeAmount = .seconds(5)
    public var lingerBytes = 64 * 1024 * 1024
    /// A request line longer than this is refused with 414 (the whole head is bounded by the
    /// HTTP decoder at 80 KiB: 431).
    public var maximumRequestLineBytes = 64 * 1024
    /// Open connections on one listener; one more is answered 429 with `Retry-After` and closed.
    public var maximumConnections = 10_000

    public init() {}
}

/// Counts a listener's open connections.
public final class ConnectionCounter: Sendable {
    private let open = Atomic<Int>(0)

    public init() {}

    public var current: Int { open.load(ordering: .relaxed) }

    /// Takes a slot, or returns false when `limit` are taken.
    func take(limit: Int) -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        if now > limit {
            open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { open.wrappingSubtract(1, ordering: .relaxed) }
}
