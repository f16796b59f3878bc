import BerthCore
import Foundation
import Testing

/// Runs a suite's tests on threads of their own instead of Swift's cooperative pool.
///
/// The cooperative pool has one thread per core (two on the CI machine) and never adds one when
/// a thread blocks. End-to-end tests block: `runCommand` waits for kubectl, skopeo or curl, and
/// helpers wait on sockets. Two such calls at once stopped every other test's async work — an
/// HTTP download's consumer starved until the client's read timeout fired, a leader election
/// missed its wait. Under this trait a test's task (and its child tasks and default actors)
/// prefers `BlockingTolerantExecutor`, which starts another thread whenever none is idle.
public struct BlockingAllowed: SuiteTrait, TestTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(BlockingTolerantExecutor.shared) { try await function() }
    }
}

extension Trait where Self == BlockingAllowed {
    /// The suite's tests may block their thread (see `BlockingAllowed`).
    public static var blockingAllowed: BlockingAllowed { BlockingAllowed() }
}

/// A task executor on `BlockingThreads`: a thread for every job that finds none idle, so a
/// blocked job never holds up another.
public final class BlockingTolerantExecutor: TaskExecutor, @unchecked Sendable {
    public static let shared = BlockingTolerantExecutor()
    private let threads = BlockingThreads(name: "berth-test", idleSeconds: 30)

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        threads.run { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
