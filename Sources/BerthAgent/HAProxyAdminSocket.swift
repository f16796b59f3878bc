import BerthCore
import CBerthSys
import Foundation

/// HAProxy's runtime API on its admin socket: one connection per command (HAProxy answers and
/// closes), run on a blocking thread. A command succeeded when HAProxy answered nothing (state,
/// weight) or reported the change (`addr`).
struct HAProxyAdminSocket: Sendable {
    let path: String

    /// Sends `commands` in order; false at the first one HAProxy refuses or cannot be reached for.
    func send(_ commands: [String]) async -> Bool {
        for command in commands {
            guard let answer = try? await BlockingThreads.shared.result({ try self.ask(command) }), Self.succeeded(answer) else { return false }
        }
        return true
    }

    static func succeeded(_ answer: String) -> Bool {
        let text = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || text.contains("changed from") || text.contains("no need to change")
    }

    /// One command's answer (at most 64 KiB; the socket times out after 5 s).
    func ask(_ command: String) throws -> String {
        let fd = berth_connect_unix(path, Int32(SOCK_STREAM.rawValue))
        guard fd >= 0 else { throw BerthError(.unavailable, "cannot reach HAProxy's admin socket \(path): errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let line = Array((command + "\n").utf8)
        guard line.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == line.count else {
            throw BerthError(.unavailable, "could not write to HAProxy's admin socket")
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while answer.count < 65536 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { throw BerthError(.unavailable, "HAProxy's admin socket: errno \(errno)") }
            if count == 0 { break }
            answer.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: answer, as: UTF8.self)
    }
}
