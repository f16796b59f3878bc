import BerthCore
import Foundation
import Testing
@testable import BerthStore

/// One writer per store file: a second store on the same file waits for the first to let go,
/// and refuses, naming the holder, when it does not.
@Suite("SQLite writer lock")
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
        // A writer that starts while the first shuts down gets the store when it is free.
        let closing = Task {
            try await Task.sleep(for: .milliseconds(500))
            await first.close()
        }
        // The lock waits by sleeping (a store opens at start-up, before anything else runs), so
        // the wait runs on a thread of its own, not on the test's cooperative pool.
        let second: Result<SQLiteWriterLock, BerthError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do throws(BerthError) {
                    continuation.resume(returning: .success(try SQLiteWriterLock(storePath: path, wait: .seconds(10))))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        try await closing.value
        try second.get().release()
        let reopened = try SQLiteStore(path: path)
        await reopened.close()
    }
}
