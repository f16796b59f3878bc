import BerthCore
import NIOCore
import Synchronization

/// A request to an API server living in the same process.
public struct InProcessRequest: Sendable {
    public var method: String
    /// Path and query, as on the wire.
    public var path: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
}

/// The server side of the in-process transport: answers a request, writing the response body
/// into `body` (the server's own response code runs unchanged: authentication, admission,
/// watches). `berth server` and `berth up` hand one to the clients of their own controllers,
/// scheduler and agent, which then skip TLS, HTTP framing and loopback sockets.
public protocol InProcessAPI: Sendable {
    func serve(_ request: InProcessRequest, into body: BodyPipe) async
}

/// One response body travelling from the server's writer to the client's reader, a few chunks
/// at a time: a reader that stops reading stops the writer (as TCP back-pressure would), and a
/// reader that goes away cancels it (as a closed connection would).
public final class BodyPipe: Sendable {
    /// Chunks the writer may run ahead of the reader (a chunk is a watch batch or a whole body).
    static let capacity = 8

    struct State {
        var head: (status: Int, warnings: [String])?
        var headWaiter: CheckedContinuation<(status: Int, warnings: [String]), Never>?
        var chunks: [ByteBuffer] = []
        var first = 0
        var end: Result<Void, any Error>?
        var reader: CheckedContinuation<ByteBuffer?, any Error>?
        var writer: CheckedContinuation<Void, any Error>?
        var cancelled = false

        var queued: Int { chunks.count - first }

        mutating func pop() -> ByteBuffer {
            let chunk = chunks[first]
            first += 1
            if first == chunks.count {
                chunks.removeAll(keepingCapacity: true)
                first = 0
            }
            return chunk
        }
    }

    private let state = Mutex(State())

    public init() {}

    // MARK: writer (server) side

    public func respond(status: Int, warnings: [String]) {
        state.withLock { state in
            state.head = (status, warnings)
            state.headWaiter?.resume(returning: (status, warnings))
            state.headWaiter = nil
        }
    }

    /// Hands a chunk to the reader; waits while the reader is `capacity` chunks behind. Throws
    /// once the reader has gone.
    public func write(_ chunk: ByteBuffer) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            state.withLock { state in
                if state.cancelled { return continuation.resume(throwing: CancellationError()) }
                if let reader = state.reader {
                    state.reader = nil
                    reader.resume(returning: chunk)
                    return continuation.resume()
                }
                state.chunks.append(chunk)
                if state.queued < Self.capacity { return continuation.resume() }
                state.writer = continuation
            }
        }
    }

    public func finish(_ error: (any Error)? = nil) {
        state.withLock { state in
            guard state.end == nil else { return }
            state.end = error.map { .failure($0) } ?? .success(())
            if state.head == nil {
                // A server that failed before answering: the client sees a 500.
                state.head = (500, [])
                state.headWaiter?.resume(returning: (500, []))
                state.headWaiter = nil
            }
            if let reader = state.reader, state.queued == 0 {
                state.reader = nil
                if let error { reader.resume(throwing: error) } else { reader.resume(returning: nil) }
            }
        }
    }

    // MARK: reader (client) side

    func head() async -> (status: Int, warnings: [String]) {
        await withCheckedContinuation { continuation in
            state.withLock { state in
                if let head = state.head { return continuation.resume(returning: head) }
                state.headWaiter = continuation
            }
        }
    }

    /// The next chunk; nil at the end of the body.
    func next() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ByteBuffer?, any Error>) in
                state.withLock { state in
                    if state.queued > 0 {
                        let chunk = state.pop()
                        if let writer = state.writer, state.queued < Self.capacity {
                            state.writer = nil
                            writer.resume()
                        }
                        return continuation.resume(returning: chunk)
                    }
                    switch state.end {
                    case .success?: return continuation.resume(returning: nil)
                    case .failure(let error)?: return continuation.resume(throwing: error)
                    case nil: break
                    }
                    if state.cancelled { return continuation.resume(throwing: CancellationError()) }
                    state.reader = continuation
                }
            }
        } onCancel: {
            cancel()
        }
    }

    /// The reader is gone: wake both sides with cancellation.
    func cancel() {
        state.withLock { state in
            state.cancelled = true
            state.reader?.resume(throwing: CancellationError())
            state.reader = nil
            state.writer?.resume(throwing: CancellationError())
            state.writer = nil
        }
    }
}

/// A response body being read in the client: the pipe and the server task writing into it,
/// cancelled when the reader lets go of the body.
final class InProcessBody: Sendable {
    let pipe: BodyPipe
    let producer: Task<Void, Never>

    init(pipe: BodyPipe, producer: Task<Void, Never>) {
        self.pipe = pipe
        self.producer = producer
    }

    deinit {
        pipe.cancel()
        producer.cancel()
    }

    /// The whole body, for requests that are not streams.
    func collect(upTo limit: Int) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let chunk = try await pipe.next() {
            bytes.append(contentsOf: chunk.readableBytesView)
            if bytes.count > limit { throw BerthError(.internalError, "response body larger than \(limit) bytes") }
        }
        return bytes
    }
}

extension APIClient {
    /// Sends a request through the in-process transport: the server answers in its own task
    /// (so a cancelled caller does not cancel a write halfway, as a dropped connection would
    /// not), and the body streams back through a pipe.
    func sendInProcess(_ server: any InProcessAPI, method: String, path: String, body: [UInt8]?, contentType: String?,
                       accept: String) async -> (status: Int, warnings: [String], body: InProcessBody) {
        var headers: [(name: String, value: String)] = [("Accept", accept), ("User-Agent", "berth/\(BerthVersion.current)")]
        if let token = config.token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil, let contentType { headers.append(("Content-Type", contentType)) }
        let request = InProcessRequest(method: method, path: path, headers: headers, body: body)
        let pipe = BodyPipe()
        let producer = Task { await server.serve(request, into: pipe) }
        let head = await pipe.head()
        return (head.status, head.warnings, InProcessBody(pipe: pipe, producer: producer))
    }
}
