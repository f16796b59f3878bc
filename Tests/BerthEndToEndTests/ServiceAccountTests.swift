import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// ServiceAccounts with kubectl 1.33: a `default` one per namespace, `kubectl create token`
/// (TokenRequest) giving a signed token that authenticates as `system:serviceaccount:NS:NAME`,
/// RBAC on it, bad durations refused, tokens for another audience or of a deleted account refused.
@Suite("ServiceAccounts", .serialized, .blockingAllowed)
struct ServiceAccountTests {
    @Test func tokensAuthenticateTheirAccount() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-sa-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        func admin(_ arguments: [String]) throws -> CommandResult { try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments) }
        func with(_ token: String, _ arguments: [String]) throws -> CommandResult {
            let config = directory + "/token-\(abs(token.hashValue)).kubeconfig"
            let text = """
                apiVersion: v1
                kind: Config
                clusters: [{name: berth, cluster: {server: "https://127.0.0.1:\(server.port)", certificate-authority: "\(server.dataDirectory)/ca.crt"}}]
                users: [{name: robot, user: {token: "\(token)"}}]
                contexts: [{name: berth, context: {cluster: berth, user: robot}}]
                current-context: berth
                """
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            return try runCommand(kubectlPath, ["--kubeconfig", config] + arguments)
        }

        #expect(try admin(["create", "namespace", "a"]).status == 0)
        _ = try await waitFor("the default ServiceAccount", timeout: 20) { () -> Bool? in try admin(["get", "serviceaccount", "default", "-n", "a"]).status == 0 ? true : nil }
        let created = try admin(["create", "serviceaccount", "robot", "-n", "a"])
        #expect(created.status == 0, "\(created.error)")
        let issued = try admin(["create", "token", "robot", "-n", "a", "--duration", "1h"])
        #expect(issued.status == 0, "\(issued.error)")
        let token = issued.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.split(separator: ".").count == 3)

        let refused = try with(token, ["get", "pods", "-n", "a"])
        #expect(refused.error.contains(#"User "system:serviceaccount:a:robot" cannot list resource "pods""#), "\(refused.error)")
        let whoami = try with(token, ["auth", "whoami", "-o", "json"])
        let identity = try JSONParser.parse(Array(whoami.output.utf8))
        #expect(identity.value(at: ["status", "userInfo", "username"]) == "system:serviceaccount:a:robot")
        #expect(identity.value(at: ["status", "userInfo", "groups"]) == ["system:serviceaccounts", "system:serviceaccounts:a", "system:authenticated"])
        #expect(try admin(["create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=a:robot", "-n", "a"]).status == 0)
        var allowed = try with(token, ["get", "pods", "-n", "a"])
        for _ in 0..<20 where allowed.status != 0 {
            try await Task.sleep(for: .milliseconds(100))
            allowed = try with(token, ["get", "pods", "-n", "a"])
        }
        #expect(allowed.status == 0, "\(allowed.error)")

        let short = try admin(["create", "token", "robot", "-n", "a", "--duration", "5m"])
        #expect(short.status != 0 && short.error.contains("spec.expirationSeconds"), "\(short.error)")
        let other = try admin(["create", "token", "robot", "-n", "a", "--audience", "https://vault.example.test"])
        #expect(other.status == 0)
        #expect(try with(other.output.trimmingCharacters(in: .whitespacesAndNewlines), ["get", "pods", "-n", "a"]).error.contains("Unauthorized"))
        #expect(try with(token + "x", ["get", "pods", "-n", "a"]).error.contains("Unauthorized"))

        #expect(try admin(["delete", "serviceaccount", "robot", "-n", "a"]).status == 0)
        let gone = try with(token, ["get", "pods", "-n", "a"])
        #expect(gone.status != 0 && gone.error.contains("Unauthorized"), "\(gone.error)")
    }

    @Test func signingKeyRotation() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-sa-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        func admin(_ arguments: [String]) throws -> CommandResult { try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments) }
        func whoami(_ token: String) throws -> CommandResult {
            try runCommand(kubectlPath, ["--server", "https://127.0.0.1:\(server.port)", "--certificate-authority", "\(server.dataDirectory)/ca.crt",
                                         "--token", token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])
        }
        func rotate(_ retireAfter: String) throws -> CommandResult {
            try runCommand(BerthServerProcess.binary, ["token", "rotate-signing-key", "--retire-after", retireAfter, "--kubeconfig", server.kubeconfigPath])
        }
        #expect(try admin(["create", "serviceaccount", "robot"]).status == 0)
        func token() throws -> String { try admin(["create", "token", "robot", "--duration", "1h"]).output.trimmingCharacters(in: .whitespacesAndNewlines) }
        func keyID(_ token: String) -> String? {
            guard let header = token.split(separator: ".").first else { return nil }
            var text = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return Data(base64Encoded: text).flatMap { try? JSONParser.parse(Array($0)) }?["kid"]?.stringValue
        }
        let first = try token()
        #expect(try whoami(first).output == "system:serviceaccount:default:robot")
        let rotated = try rotate("1h")
        #expect(rotated.status == 0 && rotated.output.contains("signing key") && rotated.output.contains("retires"), "\(rotated.output) \(rotated.error)")
        let second = try token()
        #expect(keyID(second) != nil && keyID(second) != keyID(first))
        #expect(try whoami(first).output == "system:serviceaccount:default:robot", "the old key verifies until it retires")
        #expect(try whoami(second).output == "system:serviceaccount:default:robot")
        #expect(try rotate("0s").status == 0)
        let third = try token()
        for retired in [first, second] {
            let refused = try whoami(retired)
            #expect(refused.status != 0 && refused.error.contains("Unauthorized"), "\(refused.output) \(refused.error)")
        }
        #expect(try whoami(third).output == "system:serviceaccount:default:robot")
        // Only the cluster's admins rotate: the robot is refused.
        let refused = try runCommand("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", "\(server.dataDirectory)/ca.crt", "-X", "POST",
                                                       "-H", "Authorization: Bearer \(third)", "https://127.0.0.1:\(server.port)/berth/v1/serviceaccount-signing-keys/rotate"])
        #expect(refused.output == "403", "\(refused.output) \(refused.error)")
    }
}
