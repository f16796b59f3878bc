import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthStore

/// One writer per store file: a second store on the same file waits for the first to let go,
/// and refuses, naming the holder, when it does not.
@Suite("SQLite writer lock", .blockingAllowed)
struct SQLiteWriterLockTests {
    @Test("a second writer is refused with the holder's pid; it gets the store once the first lets go")
    func oneWriterAtATime() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-lock-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/state.db"
        let first = try SQLiteStore(path: path)
        do {
            _ = try SQLiteWriterLock(storePath: path, wait: .milliseconds(300))
            Issue.record("a second writer got the lock")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message.contains("another process (pid \(getpid())) is writing the store \(path)"), "\(error.message)")
        }
        await first.close()
        // A writer that starts while another lets go gets the lock once it is free. Both sides
        // run on threads of their own: the lock waits by sleeping (a store opens at start-up),
        // and the test's cooperative pool may be starved by other tests' blocking calls.
        let holder = try SQLiteWriterLock(storePath: path, wait: .zero)
        BlockingThreads.shared.run { usleep(500_000); holder.release() }
        let second: Result<SQLiteWriterLock, BerthError> = await withCheckedContinuation { continuation in
            BlockingThreads.shared.run {
                do throws(BerthError) {
                    continuation.resume(returning: .success(try SQLiteWriterLock(storePath: path, wait: .seconds(10))))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try second.get().release()
        let reopened = try SQLiteStore(path: path)
        await reopened.close()
    }
}
