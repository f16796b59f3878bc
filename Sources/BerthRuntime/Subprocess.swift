import BerthCore
import CBerthSys
import Dispatch
import Foundation
import Glibc

/// Starts helper programs (runc, conmon, CNI plugins, ip) with `posix_spawn`, which can hand a
/// child extra descriptors (conmon's sync pipe). Waiting and reading happen on `BlockingThreads`,
/// never on a Swift concurrency thread (nor Dispatch's global queues, which share those threads).
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var standardOutput: [UInt8]
        public var standardError: [UInt8]
        public var succeeded: Bool { status == 0 }
        public var errorText: String {
            let text = String(decoding: standardError, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? String(decoding: standardOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : text
        }
    }

    /// Runs `path` to completion, capturing its output. `input` is written to its stdin.
    public static func run(_ path: String, _ arguments: [String], environment: [String]? = nil,
                           input: [UInt8]? = nil, extraDescriptors: [Int32: Int32] = [:]) async throws(BerthError) -> Result {
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&stdinPipe) == 0, berth_pipe_cloexec(&stdoutPipe) == 0, berth_pipe_cloexec(&stderrPipe) == 0 else {
            throw BerthError.posix("create pipes for", path)
        }
        var descriptors = extraDescriptors
        descriptors[0] = stdinPipe[0]
        descriptors[1] = stdoutPipe[1]
        descriptors[2] = stderrPipe[1]
        let pid: pid_t
        do {
            pid = try spawn(path, arguments, environment: environment, descriptors: descriptors)
        } catch {
            for fd in stdinPipe + stdoutPipe + stderrPipe { close(fd) }
            throw error
        }
        close(stdinPipe[0]); close(stdoutPipe[1]); close(stderrPipe[1])
        let writeFD = stdinPipe[1], outFD = stdoutPipe[0], errFD = stderrPipe[0]
        return await withCheckedContinuation { continuation in
            BlockingThreads.shared.run {
                let group = DispatchGroup()
                nonisolated(unsafe) var output: [UInt8] = []
                nonisolated(unsafe) var errors: [UInt8] = []
                group.enter()
                BlockingThreads.shared.run { output = readToEnd(outFD); group.leave() }
                group.enter()
                BlockingThreads.shared.run { errors = readToEnd(errFD); group.leave() }
                if let input {
                    input.withUnsafeBytes { raw in
                        var offset = 0
                        while offset < raw.count {
                            let written = write(writeFD, raw.baseAddress! + offset, raw.count - offset)
                            if written <= 0 { if errno == EINTR { continue }; break }
                            offset += written
                        }
                    }
                }
                close(writeFD)
                group.wait()
                close(outFD); close(errFD)
                let status = waitForExit(pid)
                continuation.resume(returning: Result(status: status, standardOutput: output, standardError: errors))
            }
        }
    }

    /// Spawns without waiting. `descriptors` maps child fd → parent fd; everything else is closed
    /// in the child (the parent opens all its descriptors close-on-exec).
    public static func spawn(_ path: String, _ arguments: [String], environment: [String]? = nil,
                             descriptors: [Int32: Int32], newSession: Bool = false) throws(BerthError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 leaves the child's copy without close-on-exec (glibc also clears the flag when a
        // descriptor is its own target); every other parent descriptor is close-on-exec.
        for (child, parent) in descriptors.sorted(by: { $0.key < $1.key }) {
            posix_spawn_file_actions_adddup2(&actions, parent, child)
        }
        // Not every descriptor in this process is close-on-exec (NIO's listening sockets are
        // not): close everything above the ones handed over, or conmon and the containers would
        // hold the API server's port open after the agent exits.
        _ = berth_spawn_close_from(&actions, (descriptors.keys.max() ?? 2) + 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= berth_spawn_setsid_flag() }
        posix_spawnattr_setflags(&attributes, flags)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let env = (environment ?? currentEnvironment()).map { strdup($0) } + [nil]
        defer { (argv + env).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, env)
        guard result == 0 else {
            errno = result
            throw BerthError.posix("start", path)
        }
        return pid
    }

    /// Runs `path` to completion on the calling thread and returns what it wrote to its standard
    /// output (its standard error is this process's). For short start-up helpers outside Swift
    /// concurrency, such as `busybox --list`.
    public static func outputBlocking(_ path: String, _ arguments: [String]) throws(BerthError) -> [UInt8] {
        var stdoutPipe: [Int32] = [-1, -1]
        guard berth_pipe_cloexec(&stdoutPipe) == 0 else { throw BerthError.posix("create a pipe for", path) }
        let pid: pid_t
        do {
            pid = try spawn(path, arguments, descriptors: [1: stdoutPipe[1], 2: 2])
        } catch {
            close(stdoutPipe[0]); close(stdoutPipe[1])
            throw error
        }
        close(stdoutPipe[1])
        let output = readToEnd(stdoutPipe[0])
        close(stdoutPipe[0])
        let status = waitForExit(pid)
        guard status == 0 else { throw BerthError(.internalError, "\(path) \(arguments.joined(separator: " ")) exited with status \(status)") }
        return output
    }

    /// Blocks the calling (Dispatch) thread until `pid` exits; returns the exit code, or 128+signal.
    public static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        if berth_wifexited(status) != 0 { return berth_wexitstatus(status) }
        if berth_wifsignaled(status) != 0 { return 128 + berth_wtermsig(status) }
        return -1
    }

    public static func currentEnvironment() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }

    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            result.append(contentsOf: chunk[0..<count])
        }
        return result
    }
}

extension BerthError {
    static func posix(_ verb: String, _ path: String) -> BerthError {
        BerthError(.internalError, "failed to \(verb) \(path): \(String(cString: strerror(errno)))")
    }
}
