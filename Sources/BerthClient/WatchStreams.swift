import AsyncHTTPClient
import BerthCore
import NIOCore

/// A watch response as newline-delimited event lines, cut only when the consumer asks for the
/// next one. Nothing is read ahead of the consumer, so a slow consumer slows the socket (TCP
/// back-pressure reaches the server) instead of piling parsed events up in memory: a burst of
/// 2,000 pod updates used to sit in an unbounded buffer as parsed trees, 15 MB in a node agent.
public struct WatchLines: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    enum Source: Sendable {
        case http(HTTPClientResponse.Body)
        case inProcess(InProcessBody)
    }

    let source: Source

    public func makeAsyncIterator() -> AsyncIterator {
        switch source {
        case .http(let body): AsyncIterator(chunks: .http(body.makeAsyncIterator()))
        case .inProcess(let body): AsyncIterator(chunks: .inProcess(body))
        }
    }

    enum Chunks {
        case http(HTTPClientResponse.Body.AsyncIterator)
        case inProcess(InProcessBody)

        mutating func next() async throws -> ByteBuffer? {
            switch self {
            case .http(var iterator):
                let chunk = try await iterator.next()
                self = .http(iterator)
                return chunk
            case .inProcess(let body):
                return try await body.pipe.next()
            }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: Chunks
        var pending: [UInt8] = []
        var start = 0

        public mutating func next() async throws -> [UInt8]? {
            while true {
                if let newline = pending[start...].firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[start..<newline])
                    start = newline + 1
                    if line.isEmpty { continue }
                    return line
                }
                if start > 0 {
                    pending.removeFirst(start)
                    start = 0
                }
                // A partial last line without its newline is not an event; the watch ended.
                guard let chunk = try await chunks.next() else { return nil }
                pending.append(contentsOf: chunk.readableBytesView)
            }
        }
    }
}

/// A watch as decoded `{"type","object"}` events, parsed one at a time as the consumer asks.
public struct WatchEvents: AsyncSequence, Sendable {
    public typealias Element = JSONValue
    let lines: WatchLines

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(lines: lines.makeAsyncIterator()) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var lines: WatchLines.AsyncIterator

        public mutating func next() async throws -> JSONValue? {
            guard let line = try await lines.next() else { return nil }
            return try JSONParser.parse(line)
        }
    }
}
