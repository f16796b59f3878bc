import BerthCore
import Foundation

/// One writer per store file, across processes: an exclusive `flock` on `PATH.lock`, held for
/// the writer's life, with the holder's PID inside for the message. Two writers each count
/// revisions on their own; found when a restarted server came up while the old one was still
/// finishing its graceful shutdown: their writes collided (`UNIQUE constraint failed:
/// log.rev, log.sub`) and lease renewals overwrote history. A starting writer waits a little
/// for a process that is shutting down, then refuses.
final class SQLiteWriterLock: @unchecked Sendable {
    let path: String
    private var descriptor: Int32

    init(storePath: String, wait: Duration = .seconds(15)) throws(BerthError) {
        path = storePath + ".lock"
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw BerthError(.internalError, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = ContinuousClock.now + wait
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now < deadline else {
                let holder = Self.holder(path)
                close(descriptor)
                throw BerthError(.unavailable, "another process\(holder.map { " (pid \($0))" } ?? "") is writing the store \(storePath): "
                    + "stop it first (two writers would corrupt it)")
            }
            usleep(100_000)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pid.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    /// Lets go of the store (closing the descriptor drops the lock).
    func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }

    static func holder(_ path: String) -> Int32? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
