import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth cleanup --purge` deletes the whole data directory — the store, the CA and the admin
/// token too, which it used to leave, so the next `berth up` brought the old cluster back —
/// and refuses while a server still has the store open.
@Suite("cleanup --purge", .blockingAllowed)
struct CleanupPurgeTests {
    @Test func purgeLeavesNothingAndRefusesWhileAServerRuns() async throws {
        let server = BerthServerProcess()
        try await server.start()
        defer { server.cleanUp() }
        // A bridge name of its own: the cleanup must not touch other tests' hosts.
        let arguments = ["cleanup", "--purge", "--data-dir", server.dataDirectory, "--bridge-name", "bpurge0"]
        let refused = try runCommand(BerthServerProcess.binary, arguments)
        #expect(refused.status != 0 && refused.error.contains("still uses"), "\(refused)")
        #expect(FileManager.default.fileExists(atPath: server.dataDirectory + "/state.db"))
        server.stop()
        for name in ["state.db", "ca.key", "admin.token"] {
            #expect(FileManager.default.fileExists(atPath: server.dataDirectory + "/" + name), "\(name) missing before the purge")
        }
        let purged = try runCommand(BerthServerProcess.binary, arguments)
        #expect(purged.status == 0, "\(purged)")
        #expect(!FileManager.default.fileExists(atPath: server.dataDirectory), "the data directory is still there")
    }
}
