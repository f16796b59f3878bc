import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Every connection to the API server ends: malformed requests are answered and closed,
/// abandoned and stalled connections are closed, a sender refused before its body was read
/// sees the answer and an end of stream, and a watcher that stops reading is dropped with its
/// memory. The probes speak raw HTTP over TLS (`Probes/http_probe.py`), since no well-behaved
/// client sends these bytes.
@Suite("connection lifecycle", .serialized, .blockingAllowed)
struct ConnectionLifecycleTests {
    static let probe = BerthServerProcess.packageRoot.appendingPathComponent("Tests/BerthEndToEndTests/Probes/http_probe.py").path

    struct Server {
        let process: BerthServerProcess
        let token: String
        var pid: Int32 { process.process?.processIdentifier ?? 0 }

        func probe(_ cases: [String], timeout: TimeInterval = 240) throws -> [String: JSONValue] {
            let result = try runCommand("/usr/bin/python3", [ConnectionLifecycleTests.probe, process.host, String(process.port), token] + cases,
                                        timeout: timeout)
            #expect(result.status == 0, "\(result.error)")
            var byCase: [String: JSONValue] = [:]
            for line in result.output.split(separator: "\n") {
                let value = try JSONParser.parse(Array(line.utf8))
                if let name = value["case"]?.stringValue { byCase[name] = value }
            }
            return byCase
        }

        var descriptors: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }

        var residentKB: Int {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
        }

        /// Waits until the server holds no more descriptors than `baseline` (plus a little
        /// for its own files coming and going); returns the last count seen.
        func descriptorsSettle(to baseline: Int, within seconds: Int = 20) async throws -> Int {
            var count = descriptors
            for _ in 0..<(seconds * 10) where count > baseline + 2 {
                try await Task.sleep(for: .milliseconds(100))
                count = descriptors
            }
            return count
        }
    }

    func withServer(_ body: (Server) async throws -> Void) async throws {
        let process = BerthServerProcess()
        try await process.start()
        defer { process.cleanUp() }
        let token = try String(contentsOfFile: process.dataDirectory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await body(Server(process: process, token: token))
    }

    @Test func malformedRequestsGetAnAnswerAndAClose() async throws {
        try await withServer { server in
            let baseline = server.descriptors
            let results = try server.probe(["all"])
            let expected: [String: Int] = [
                "unknown_method": 501, "negative_length": 400, "huge_length": 400, "double_length": 400, "length_and_chunked": 400,
                "long_request_line": 414, "huge_header": 431, "many_headers": 431, "http09": 400, "bare_lf": 400, "http2_preface": 505,
                "bad_chunk_size": 400, "ws_no_key": 400, "ws_bad_version": 400, "ws_unauthenticated": 401, "ws_missing_pod": 404,
            ]
            for (name, status) in expected {
                let result = try #require(results[name], "no result for \(name)")
                #expect(result["status"]?.intValue == status, "\(name): \(result)")
                #expect(result["closed"] == true, "\(name) was not closed: \(result)")
                #expect(result["body"]?.stringValue?.contains("\"kind\":\"Status\"") == true, "\(name): \(result)")
            }
            #expect(results["keepalive"]?["statuses"] == [200, 200])
            let settled = try await server.descriptorsSettle(to: baseline)
            #expect(settled <= baseline + 2, "descriptors \(baseline) before, \(settled) after")
        }
    }

    /// The reported hang: a sender of an 8 MiB body got its 413, then blocked forever writing
    /// the rest while the server neither read nor closed.
    @Test func anOversizedBodyGets413AndAnEndOfStream() async throws {
        try await withServer { server in
            let result = try #require(try server.probe(["oversized_body"])["oversized_body"])
            #expect(result["status"]?.intValue == 413, "\(result)")
            #expect(result["closed"] == true, "\(result)")
            #expect(result["blocked"] == false, "\(result)")
        }
    }

    @Test func abandonedAndStalledConnectionsAreClosed() async throws {
        try await withServer { server in
            let baseline = server.descriptors
            _ = try server.probe(["abandoned"])
            let afterAbandoned = try await server.descriptorsSettle(to: baseline)
            #expect(afterAbandoned <= baseline + 2, "descriptors \(baseline) before, \(afterAbandoned) after 1,000 abandoned connections")
            // Heads never finished and connections never used: ended by the server's own
            // timeouts (15 s for a request head), not by the client.
            let results = try server.probe(["slow_heads", "idle_connections"])
            #expect(results["slow_heads"]?["ended"]?.intValue == 16, "\(String(describing: results["slow_heads"]))")
            #expect(results["slow_heads"]?["statuses"]?.arrayValue?.allSatisfy { $0.intValue == 408 } == true)
            #expect(results["idle_connections"]?["ended"]?.intValue == 16, "\(String(describing: results["idle_connections"]))")
            let settled = try await server.descriptorsSettle(to: baseline)
            #expect(settled <= baseline + 2, "descriptors \(baseline) before, \(settled) after the slow clients")
        }
    }

    /// 15 watchers that never read while 40 MB of ConfigMaps (400 of 100 KB) are written: each is dropped once
    /// it is 32 MiB behind, and what it held is given back (before: 47 -> 199 MB, 124 MB after).
    @Test func watchersThatNeverReadAreDropped() async throws {
        try await withServer { server in
            let baseline = server.descriptors
            let residentBefore = server.residentKB
            let result = try #require(try server.probe(["stalled_watchers"])["stalled_watchers"])
            #expect(result["created"]?.intValue == 400, "\(result)")
            #expect(result["dropped"]?.intValue == 15, "\(result)")
            let settled = try await server.descriptorsSettle(to: baseline)
            #expect(settled <= baseline + 2, "descriptors \(baseline) before, \(settled) after")
            // The server trims its heap every 5 s; allow it a few rounds.
            var resident = server.residentKB
            for _ in 0..<30 where resident - residentBefore > 40 * 1024 {
                try await Task.sleep(for: .milliseconds(500))
                resident = server.residentKB
            }
            #expect(resident - residentBefore <= 40 * 1024, "RSS \(residentBefore) KB before, \(resident) KB after the watchers were dropped")
        }
    }
}
