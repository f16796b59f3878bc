import BerthCore
import Dispatch
import Glibc
import Synchronization

/// A connected socket read on its own thread, its input as (stream, bytes) pairs: what an
/// attach session and a port-forward connection share. `decode` turns what one `recv` returned
/// into a pair (nil skips it).
public final class SocketStream: Sendable {
    public let output: AsyncStream<(stream: UInt8, bytes: [UInt8])>
    private let socket: Int32
    private let closed = Mutex(false)
    private let reader: Task<Int32, Never>

    public init(socket: Int32, bufferSize: Int, decode: @escaping @Sendable (ArraySlice<UInt8>) -> (UInt8, [UInt8])?) {
        self.socket = socket
        let (stream, continuation) = AsyncStream<(stream: UInt8, bytes: [UInt8])>.makeStream()
        output = stream
        reader = Task {
            await withCheckedContinuation { (done: CheckedContinuation<Int32, Never>) in
                BlockingThreads.shared.run {
                    var buffer = [UInt8](repeating: 0, count: bufferSize)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress!, $0.count, 0) }
                        if count < 0 && errno == EINTR { continue }
                        if count <= 0 { break }  // the other side closed, or the session ended
                        if let item = decode(buffer[0..<count]) { continuation.yield(item) }
                    }
                    continuation.finish()
                    done.resume(returning: 0)
                }
            }
        }
    }

    /// Sends all of `bytes`, at most `chunk` per send (one packet each on a SOCK_SEQPACKET).
    public func send(_ bytes: [UInt8], chunk: Int = Int.max) {
        guard !closed.withLock({ $0 }) else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(socket, raw.baseAddress! + offset, min(raw.count - offset, chunk), Int32(MSG_NOSIGNAL))
                if sent < 0 { if errno == EINTR { continue }; return }
                offset += sent
            }
        }
    }

    /// The end of our input: the other side reads EOF.
    public func shutdownWrite() { shutdown(socket, Int32(SHUT_WR)) }

    /// Returns once the other side has closed (or the session was ended), then ends it.
    public func wait() async -> Int32 {
        let code = await reader.value
        terminate()
        return code
    }

    /// Ends the session; shutdown wakes the reader, and the descriptor closes once it is done.
    public func terminate() {
        let wasOpen = closed.withLock { isClosed in
            defer { isClosed = true }
            return !isClosed
        }
        guard wasOpen else { return }
        shutdown(socket, Int32(SHUT_RDWR))
        Task { [reader, socket] in
            _ = await reader.value
            close(socket)
        }
    }
}
