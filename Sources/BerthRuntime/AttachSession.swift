import BerthCore
import CBerthSys
import Dispatch
import Foundation
import Glibc
import Synchronization

/// An attachment to a running container's own stdio through conmon's attach socket (what
/// `kubectl attach -i` and `kubectl run -it` reach): bytes written go to the container's
/// stdin, its output arrives from now on as (stream, bytes) pairs — 1 stdout, 2 stderr — and
/// a resize goes to conmon's control FIFO. Ending the session leaves the container running;
/// a container started with `stdinOnce` sees its stdin close when the session ends.
public final class AttachSession: Sendable {
    public let output: AsyncStream<(stream: UInt8, bytes: [UInt8])>
    private let socket: Int32
    private let controlPath: String
    private let tty: Bool
    private let closed = Mutex(false)
    private let reader: Task<Int32, Never>
    private let resizes = DispatchQueue(label: "berth.attach.resize")

    /// conmon's packets: one byte naming the pipe (`stdpipe_t`: 2 stdout, 3 stderr), then data.
    static let packetSize = 8192 + 1

    public init(runtime: ConmonDriver, containerID: String, tty: Bool) throws(BerthError) {
        let fd = berth_connect_seqpacket(runtime.attachSocketPath(containerID))
        guard fd >= 0 else { throw BerthError.posix("attach to", containerID) }
        socket = fd
        controlPath = runtime.controlPath(containerID)
        self.tty = tty
        let (stream, continuation) = AsyncStream<(stream: UInt8, bytes: [UInt8])>.makeStream()
        output = stream
        reader = Task {
            await withCheckedContinuation { (done: CheckedContinuation<Int32, Never>) in
                DispatchQueue.global().async {
                    var buffer = [UInt8](repeating: 0, count: Self.packetSize)
                    while true {
                        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
                        if count < 0 && errno == EINTR { continue }
                        if count <= 0 { break }  // conmon closed the socket: the container ended
                        guard count > 1 else { continue }
                        let pipe: UInt8 = buffer[0] == 3 ? 2 : 1
                        continuation.yield((pipe, Array(buffer[1..<count])))
                    }
                    continuation.finish()
                    done.resume(returning: 0)
                }
            }
        }
    }

    /// Sends to the container's stdin, in packets conmon reads whole.
    public func write(_ bytes: [UInt8]) {
        guard !closed.withLock({ $0 }) else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let size = min(raw.count - offset, Self.packetSize - 1)
                let sent = send(socket, raw.baseAddress! + offset, size, Int32(MSG_NOSIGNAL))
                if sent < 0 { if errno == EINTR { continue }; return }
                offset += sent
            }
        }
    }

    /// The client's end of input: conmon closes the container's stdin (unless the container
    /// keeps it open). A TTY has no separate stdin to close; EOT is sent instead.
    public func closeStdin() {
        if tty {
            write([4])
            return
        }
        shutdown(socket, Int32(SHUT_WR))
    }

    /// conmon's control FIFO: `1 HEIGHT WIDTH` resizes the container's terminal. conmon reads
    /// one command per wake-up, and kubectl sends two sizes at once (one larger, then the real
    /// one, to make programs redraw): the writes are spaced on a serial queue so none is lost.
    public func resize(width: UInt16, height: UInt16) {
        guard tty else { return }
        let path = controlPath
        let line = Array("1 \(height) \(width)\n".utf8)
        resizes.async {
            let fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return }
            _ = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
            close(fd)
            usleep(30_000)
        }
    }

    /// Returns when the container's output ends (it exited) or the session was ended.
    public func wait() async -> Int32 {
        let code = await reader.value
        terminate()
        return code
    }

    /// Detaches; the container keeps running.
    public func terminate() {
        let wasOpen = closed.withLock { isClosed in
            defer { isClosed = true }
            return !isClosed
        }
        // shutdown wakes the reader; the descriptor closes once it is done with it.
        if wasOpen {
            shutdown(socket, Int32(SHUT_RDWR))
            Task { [reader, socket] in
                _ = await reader.value
                close(socket)
            }
        }
    }
}
