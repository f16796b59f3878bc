import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Every request goes through one pipeline: authenticate (token, client certificate from the
/// cluster CA, or anonymous) → authorize (system:masters, the node authorizer, public and
/// discovery paths; nothing else is allowed yet) → handle → audit. Checked against a live
/// `berth server` with curl, a user certificate made with openssl, and the audit log it writes.
@Suite("Request pipeline", .blockingAllowed)
struct RequestPipelineTests {
    @Test func authenticateAuthorizeAudit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-pipeline-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let auditPath = directory + "/audit.log"
        let server = BerthServerProcess(role: "server", extraArguments: ["--audit-log-path", auditPath])
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        let ca = server.dataDirectory + "/ca.crt"
        let token = try String(contentsOfFile: server.dataDirectory + "/admin.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        func openssl(_ arguments: [String]) throws {
            let result = try runCommand("/usr/bin/openssl", arguments)
            try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")): \(result.error)")
        }
        // A user certificate from the cluster CA: CN is the user, O the groups.
        try openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "\(directory)/alice.key"])
        try openssl(["req", "-new", "-key", "\(directory)/alice.key", "-subj", "/O=dev/CN=alice", "-out", "\(directory)/alice.csr"])
        try openssl(["x509", "-req", "-in", "\(directory)/alice.csr", "-CA", ca, "-CAkey", server.dataDirectory + "/ca.key",
                     "-CAcreateserial", "-days", "1", "-out", "\(directory)/alice.crt"])
        func request(_ path: String, as who: String, method: String = "GET") throws -> (code: Int, body: JSONValue?) {
            var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", "--cacert", ca, "-H", "User-Agent: pipeline-test"]
            switch who {
            case "admin": arguments += ["-H", "Authorization: Bearer \(token)"]
            case "alice": arguments += ["--cert", "\(directory)/alice.crt", "--key", "\(directory)/alice.key"]
            default: break
            }
            let result = try runCommand("/usr/bin/curl", arguments + ["https://127.0.0.1:\(server.port)\(path)"])
            let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, try? JSONParser.parse(Array(lines.dropLast().joined(separator: "\n").utf8)))
        }

        #expect(try request("/api/v1/namespaces", as: "admin").code == 200)
        let denied = try request("/api/v1/namespaces/default/pods", as: "alice")
        #expect(denied.code == 403)
        #expect(denied.body?["message"] == "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"",
                "\(String(describing: denied.body))")
        let cluster = try request("/apis/apps/v1/deployments", as: "alice")
        #expect(cluster.body?["message"]?.stringValue?.hasSuffix("cannot list resource \"deployments\" in API group \"apps\" at the cluster scope") == true)
        #expect(try request("/api", as: "alice").code == 200, "discovery is open to every authenticated user")
        #expect(try request("/openapi/v3", as: "alice").code == 200)
        #expect(try request("/api/v1/nodes/n1/proxy/stats/summary", as: "alice").code == 403, "the node proxy is a resource, nodes/proxy")
        #expect(try request("/berth/v1/namespaces/default/pods/p/probe?address=100.96.0.2&port=80", as: "alice").code == 403)
        #expect(try request("/api/v1/namespaces", as: "anonymous").code == 401)
        #expect(try request("/api", as: "anonymous").code == 401)
        #expect(try request("/version", as: "anonymous").code == 200)
        #expect(try request(JoinPathsForTest.join, as: "anonymous", method: "POST").body?["message"] == "joining needs a bootstrap token (berth token create)")

        // One line per request, refusals included, with user, verb, URI, object and code.
        var lines: [JSONValue] = []
        for _ in 0..<50 {
            lines = ((try? String(contentsOfFile: auditPath, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
                .filter { $0["userAgent"] == "pipeline-test" }
            if lines.count >= 11 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(lines.count == 11, "\(lines.count) audit lines")
        let refusal = try #require(lines.first { $0["requestURI"] == "/api/v1/namespaces/default/pods" })
        #expect(refusal["kind"] == "Event" && refusal["apiVersion"] == "audit.k8s.io/v1" && refusal["stage"] == "ResponseComplete" && refusal["level"] == "Metadata")
        #expect(refusal.value(at: ["user", "username"]) == "alice" && refusal.value(at: ["user", "groups"]) == ["dev", "system:authenticated"])
        #expect(refusal["verb"] == "list" && refusal.value(at: ["responseStatus", "code"]) == 403)
        #expect(refusal.value(at: ["objectRef", "resource"]) == "pods" && refusal.value(at: ["objectRef", "namespace"]) == "default")
        let admin = try #require(lines.first { $0["requestURI"] == "/api/v1/namespaces" && $0.value(at: ["user", "username"]) == "admin" })
        #expect(admin.value(at: ["responseStatus", "code"]) == 200 && admin.value(at: ["user", "groups"]) == ["system:masters", "system:authenticated"])
        let proxy = try #require(lines.first { ($0["requestURI"]?.stringValue ?? "").contains("/proxy/") })
        #expect(proxy.value(at: ["objectRef", "resource"]) == "nodes" && proxy.value(at: ["objectRef", "subresource"]) == "proxy" && proxy["verb"] == "get")
        let anonymous = try #require(lines.first { $0["requestURI"] == "/version" })
        #expect(anonymous.value(at: ["user", "username"]) == "system:anonymous" && anonymous["verb"] == "get")

        // berth audit reads it back, filtered.
        let table = try runCommand(BerthServerProcess.binary, ["audit", "--log", auditPath, "--user", "alice", "--denied", "--since", "1h"])
        #expect(table.status == 0, "\(table.error)")
        let rows = table.output.split(separator: "\n")
        #expect(rows.first?.hasPrefix("TIME") == true && rows.dropFirst().allSatisfy { $0.contains("alice") && $0.contains("403") }, "\(table.output)")
        #expect(rows.contains { $0.hasSuffix("/api/v1/namespaces/default/pods") }, "\(table.output)")
        let json = try runCommand(BerthServerProcess.binary, ["audit", "--log", auditPath, "--verb", "list", "-n", "default", "-o", "json"])
        let listed = json.output.split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
        #expect(!listed.isEmpty && listed.allSatisfy { $0["verb"] == "list" && $0.value(at: ["objectRef", "namespace"]) == "default" }, "\(json.output)")
        #expect(try runCommand(BerthServerProcess.binary, ["audit", "--log", directory + "/none.log"]).status != 0)
    }
}

enum JoinPathsForTest {
    static let join = "/berth/v1/join"
}
