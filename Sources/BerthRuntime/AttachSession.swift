import BerthCore
import CBerthSys
import Dispatch
import Foundation
import Glibc

/// An attachment to a running container's own stdio through conmon's attach socket (what
/// `kubectl attach -i` and `kubectl run -it` reach): bytes written go to the container's
/// stdin, its output arrives from now on as (stream, bytes) pairs — 1 stdout, 2 stderr — and
/// a resize goes to conmon's control FIFO. Ending the session leaves the container running;
/// a container started with `stdinOnce` sees its stdin close when the session ends.
public final class AttachSession: Sendable {
    private let connection: SocketStream
    private let controlPath: String
    private let tty: Bool
    private let resizes = DispatchQueue(label: "berth.attach.resize")

    /// conmon's packets: one byte naming the pipe (`stdpipe_t`: 2 stdout, 3 stderr), then data.
    static let packetSize = 8192 + 1

    public var output: AsyncStream<(stream: UInt8, bytes: [UInt8])> { connection.output }

    public init(runtime: ConmonDriver, containerID: String, tty: Bool) throws(BerthError) {
        let fd = berth_connect_seqpacket(runtime.attachSocketPath(containerID))
        guard fd >= 0 else { throw BerthError.posix("attach to", containerID) }
        controlPath = runtime.controlPath(containerID)
        self.tty = tty
        connection = SocketStream(socket: fd, bufferSize: Self.packetSize) { packet in
            guard packet.count > 1, let pipe = packet.first else { return nil }
            return (pipe == 3 ? 2 : 1, Array(packet.dropFirst()))
        }
    }

    /// Sends to the container's stdin, in packets conmon reads whole.
    public func write(_ bytes: [UInt8]) { connection.send(bytes, chunk: Self.packetSize - 1) }

    /// The client's end of input: conmon closes the container's stdin (unless the container
    /// keeps it open). A TTY has no separate stdin to close; EOT is sent instead.
    public func closeStdin() {
        if tty {
            write([4])
            return
        }
        connection.shutdownWrite()
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
    public func wait() async -> Int32 { await connection.wait() }

    /// Detaches; the container keeps running.
    public func terminate() { connection.terminate() }
}
