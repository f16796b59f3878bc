import BerthCore
import CBerthSys
import Dispatch
import Foundation
import Glibc
import Synchronization

/// A process started in a running container with `runc exec`, its stdio connected to the caller:
/// with a TTY through a pseudo-terminal (runc copies between it and the container's console), or
/// with plain pipes. Output arrives as (stream, bytes) pairs; stream 1 is stdout, 2 stderr.
public final class ExecSession: Sendable {
    public let output: AsyncStream<(stream: UInt8, bytes: [UInt8])>
    private let pid: pid_t
    private let stdinFD: Int32
    private let terminalFD: Int32?
    private let stdinClosed = Mutex(false)
    private let exitCode: Task<Int32, Never>

    public init(runtime: ConmonDriver, containerID: String, command: [String], tty: Bool, stdin: Bool) throws(BerthError) {
        guard !command.isEmpty else { throw BerthError(.badRequest, "you must specify at least one command for the container") }
        let arguments = ["--root", runtime.runcRoot, "exec"] + (tty ? ["-t"] : []) + [containerID] + command
        var readers: [(fd: Int32, stream: UInt8)] = []
        var toClose: [Int32] = []
        let descriptors: [Int32: Int32]
        if tty {
            var master: Int32 = -1
            var name = [CChar](repeating: 0, count: 128)
            guard berth_open_pty(&master, &name, name.count) == 0 else { throw BerthError.posix("open a terminal for", containerID) }
            let slave = open(String(cString: name), O_RDWR | O_NOCTTY | O_CLOEXEC)
            guard slave >= 0 else {
                close(master)
                throw BerthError.posix("open terminal", String(cString: name))
            }
            descriptors = [0: slave, 1: slave, 2: slave]
            toClose = [slave]
            readers = [(master, 1)]
            stdinFD = master
            terminalFD = master
        } else {
            var input: [Int32] = [-1, -1], out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
            guard berth_pipe_cloexec(&input) == 0, berth_pipe_cloexec(&out) == 0, berth_pipe_cloexec(&err) == 0 else {
                throw BerthError.posix("create pipes for exec in", containerID)
            }
            descriptors = [0: input[0], 1: out[1], 2: err[1]]
            toClose = [input[0], out[1], err[1]]
            readers = [(out[0], 1), (err[0], 2)]
            stdinFD = input[1]
            terminalFD = nil
        }
        let spawned: pid_t
        do {
            spawned = try Subprocess.spawn(runtime.runc, arguments, descriptors: descriptors, newSession: tty)
        } catch {
            for fd in toClose + readers.map(\.fd) + [stdinFD] { close(fd) }
            throw error
        }
        for fd in toClose { close(fd) }
        pid = spawned
        if !stdin && !tty { close(stdinFD); stdinClosed.withLock { $0 = true } }
        let (stream, continuation) = AsyncStream<(stream: UInt8, bytes: [UInt8])>.makeStream()
        output = stream
        let group = DispatchGroup()
        let terminal = terminalFD
        for reader in readers {
            group.enter()
            BlockingThreads.shared.run {
                var buffer = [UInt8](repeating: 0, count: 32768)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(reader.fd, $0.baseAddress!, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }  // EOF, or EIO once the terminal's last user is gone
                    continuation.yield((reader.stream, Array(buffer[0..<count])))
                }
                if reader.fd != terminal { close(reader.fd) }
                group.leave()
            }
        }
        let processID = spawned
        exitCode = Task {
            await withCheckedContinuation { (done: CheckedContinuation<Int32, Never>) in
                BlockingThreads.shared.run {
                    let code = Subprocess.waitForExit(processID)
                    // A terminal's reader ends with EIO only when every slave copy is closed;
                    // runc's exit closes the last one.
                    group.wait()
                    continuation.finish()
                    done.resume(returning: code)
                }
            }
        }
    }

    /// Writes to the process's stdin (ignored once stdin is closed).
    public func write(_ bytes: [UInt8]) {
        guard !stdinClosed.withLock({ $0 }) else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(stdinFD, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
    }

    /// Ends stdin (EOF for the process). A TTY has no separate stdin to close; EOT is sent instead.
    public func closeStdin() {
        if terminalFD != nil {
            write([4])
            return
        }
        let wasOpen = stdinClosed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        if wasOpen { close(stdinFD) }
    }

    /// Sets the terminal size; runc copies it to the container's console on SIGWINCH.
    public func resize(width: UInt16, height: UInt16) {
        guard let terminalFD else { return }
        _ = berth_set_winsize(terminalFD, height, width)
        kill(pid, SIGWINCH)
    }

    /// Waits for the process to end; its exit code.
    public func wait() async -> Int32 {
        let code = await exitCode.value
        if let terminalFD { close(terminalFD) } else if !stdinClosed.withLock({ $0 }) { closeStdin() }
        return code
    }

    /// Ends the session early (the client went away): the exec'd process is killed.
    public func terminate() {
        kill(pid, SIGKILL)
    }
}
