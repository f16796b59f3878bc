import BerthCore
import BerthTestSupport
import Foundation
import Glibc
import Testing

/// A server asked to listen where something already listens stops at once with the reason;
/// it used to hang, silent and not listening, with its controllers running.
@Suite("listening on a taken port", .blockingAllowed)
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

    /// A joining agent whose endpoint port (10250 on its node address) is taken says so before
    /// it spends the token or touches the host: here it never reaches the (absent) server.
    @Test func anAgentExitsBeforeJoining() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(10250).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        // If something else on this host holds the port already, it is just as taken.
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(fd, 1)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-taken-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try runCommand(BerthServerProcess.binary, [
            "agent", "--join", "https://127.0.0.1:\(FreePort.next())", "--token", "abcdef.0123456789abcdef",
            "--ca-cert-hash", "sha256:" + String(repeating: "0", count: 64), "--data-dir", directory, "--node-address", "127.0.0.1",
        ], timeout: 30)
        #expect(result.status == 1)
        #expect(result.error.contains("cannot listen on 127.0.0.1:10250 (the agent's endpoint for logs, exec and stats): Address already in use"), "\(result.error)")
        #expect(!result.error.contains("failed to reach"))
    }
}
