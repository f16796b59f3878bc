import Foundation

/// Threads for work that blocks: waiting for a child process, reading a pipe or a socket until
/// it closes, a blocking `connect`.
///
/// Not Dispatch's global queues: on Linux they share their threads with Swift concurrency (one
/// per core) and add a thread only about once a second when one blocks. Measured on this 2-core
/// machine: with four blocking blocks on `DispatchQueue.global()`, a Swift task that needed 0.1 s
/// ran after 2.1 s. An agent reading a `runc`'s output that way stalls every other task it has.
/// Here a thread is started whenever work arrives and none is idle, and an idle thread ends
/// after `idleSeconds`, so a burst leaves nothing behind.
public final class BlockingThreads: @unchecked Sendable {
    public static let shared = BlockingThreads(name: "berth-blocking")

    private let name: String
    private let idleSeconds: TimeInterval
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var idle = 0
    private var started = 0

    public init(name: String, idleSeconds: TimeInterval = 10) {
        self.name = name
        self.idleSeconds = idleSeconds
    }

    /// Runs `work` on a thread of the pool, now.
    public func run(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        queue.append(work)
        // Every queued item needs an idle thread of its own, or a new one.
        if idle >= queue.count {
            condition.signal()
            condition.unlock()
            return
        }
        started += 1
        let thread = Thread { [self] in serve() }
        thread.name = "\(name)-\(started)"
        condition.unlock()
        thread.start()
    }

    /// Runs `body` on a pool thread and returns its result to the awaiting task.
    public func value<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in run { continuation.resume(returning: body()) } }
    }

    /// Runs a throwing `body` on a pool thread.
    public func result<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in run { continuation.resume(with: Result { try body() }) } }
    }

    private func serve() {
        condition.lock()
        while true {
            if let work = queue.first {
                queue.removeFirst()
                condition.unlock()
                work()
                condition.lock()
                continue
            }
            idle += 1
            let woken = condition.wait(until: Date().addingTimeInterval(idleSeconds))
            idle -= 1
            if !woken && queue.isEmpty { break }
        }
        condition.unlock()
    }
}
