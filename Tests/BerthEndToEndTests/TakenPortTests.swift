import BerthCore
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// A server asked to listen where something already listens stops at once with the reason;
/// it used to hang, silent and not listening, with its controllers running.
@Suite("listening on a taken port")
struct TakenPortTests {
    @Test func theServerExitsWithTheReason() throws {
        let (fd, port) = FreePort.listener()
        defer { close(fd) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-taken-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try runCommand(BerthServerProcess.binary, ["server", "--data-dir", directory, "--listen", "127.0.0.1:\(port)"], timeout: 30)
        #expect(result.status == 1)
        #expect(result.error.contains("cannot listen on 127.0.0.1:\(port): Address already in use"))
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
