import AsyncHTTPClient
import BerthCore
import Glibc
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
                if let newline = Self.newline(in: pending, from: start) {
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

        /// memchr instead of a generic element-by-element search: a busy watch scans every byte.
        static func newline(in bytes: [UInt8], from start: Int) -> Int? {
            guard start < bytes.count else { return nil }
            return bytes.withUnsafeBufferPointer { buffer -> Int? in
                guard let base = buffer.baseAddress, let found = memchr(base + start, 0x0A, buffer.count - start) else { return nil }
                return UnsafeRawPointer(base).distance(to: UnsafeRawPointer(found))
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
