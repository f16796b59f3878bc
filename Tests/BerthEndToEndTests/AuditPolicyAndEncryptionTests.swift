import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `--audit-policy-file` (levels and stages, first rule wins), `berth audit --tenant`, and
/// `--encryption-provider-config` (Secrets unreadable in the store file, readable through the
/// API, keys rotated by restarting with a new first key and rewriting) with kubectl 1.33.
@Suite("Audit policy and encryption at rest", .serialized, .blockingAllowed)
struct AuditPolicyAndEncryptionTests {
    static func key(_ byte: UInt8) -> String { Data(repeating: byte, count: 32).base64EncodedString() }

    static func encryption(_ providers: String) -> String {
        """
        apiVersion: apiserver.config.k8s.io/v1
        kind: EncryptionConfiguration
        resources:
        - resources: [secrets]
          providers:
        \(providers)
        """
    }

    /// The store file and its write-ahead log, as bytes.
    static func storeBytes(_ directory: String) -> Data {
        var bytes = Data()
        for suffix in ["", "-wal"] { bytes.append((try? Data(contentsOf: URL(fileURLWithPath: directory + "/state.db" + suffix))) ?? Data()) }
        return bytes
    }

    @Test func policyTenantAndEncryptedSecrets() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-audit-enc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let dataDirectory = directory + "/data"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = """
            apiVersion: audit.k8s.io/v1
            kind: Policy
            omitStages: [RequestReceived]
            rules:
            - level: None
              verbs: [get, list, watch]
              resources: [{group: "", resources: [namespaces]}]
            - level: Metadata
              resources: [{group: "", resources: [secrets]}]
            - level: RequestResponse
              resources: [{group: "", resources: [configmaps]}]
            - level: Metadata
            """
        try policy.write(toFile: directory + "/policy.yaml", atomically: true, encoding: .utf8)
        let firstKey = Self.encryption("  - aesgcm: {keys: [{name: key1, secret: \(Self.key(1))}]}\n  - identity: {}")
        try firstKey.write(toFile: directory + "/enc1.yaml", atomically: true, encoding: .utf8)
        let log = directory + "/audit.log"
        func serverArguments(_ encryption: String) -> [String] {
            ["--audit-log-path", log, "--audit-policy-file", directory + "/policy.yaml", "--encryption-provider-config", encryption]
        }
        var server = BerthServerProcess(role: "server", extraArguments: serverArguments(directory + "/enc1.yaml"), dataDirectory: dataDirectory)
        defer { server.cleanUp() }
        try await server.start()
        func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
        }
        #expect(try kubectl(["create", "secret", "generic", "db", "--from-literal=password=correct-horse-battery"]).status == 0)
        #expect(try kubectl(["get", "secret", "db", "-o", "jsonpath={.data.password}"]).output == Data("correct-horse-battery".utf8).base64EncodedString())
        #expect(try kubectl(["create", "configmap", "settings", "--from-literal=mode=fast"]).status == 0)
        #expect(try kubectl(["get", "namespaces"]).status == 0)
        let tenant = "apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: red}\nspec: {namespaces: [ra]}\n"
        #expect(try kubectl(["apply", "-f", "-"], input: tenant).status == 0)
        #expect(try kubectl(["create", "namespace", "ra"]).status == 0)
        #expect(try kubectl(["create", "configmap", "in-tenant", "-n", "ra"]).status == 0)
        // Pod Security's audit level annotates the event, refusing nothing.
        #expect(try kubectl(["create", "namespace", "audited"]).status == 0)
        #expect(try kubectl(["label", "namespace", "audited", "pod-security.kubernetes.io/audit=restricted"]).status == 0)
        #expect(try kubectl(["run", "loose", "--image=berth/busybox:latest", "-n", "audited"]).status == 0)

        // The store holds no plaintext of the secret; key1's prefix is there.
        var stored = Self.storeBytes(dataDirectory)
        let plaintext = Data(Data("correct-horse-battery".utf8).base64EncodedString().utf8)
        #expect(stored.range(of: plaintext) == nil)
        #expect(stored.range(of: Data("k8s:enc:aesgcm:v1:key1:".utf8)) != nil)

        // Audit: one line per request (RequestReceived omitted), at the rule's level.
        var events: [JSONValue] = []
        for _ in 0..<50 {
            events = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { try? JSONParser.parse(Array($0.utf8)) }
            if events.contains(where: { $0.value(at: ["objectRef", "name"]) == "in-tenant" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(events.allSatisfy { $0["stage"] == "ResponseComplete" })
        #expect(!events.contains { $0.value(at: ["objectRef", "resource"]) == "namespaces" && $0["verb"] == "list" }, "namespace reads are level None")
        let secretCreate = try #require(events.first { $0.value(at: ["objectRef", "resource"]) == "secrets" && $0["verb"] == "create" })
        #expect(secretCreate["level"] == "Metadata" && secretCreate["requestObject"] == nil && secretCreate.value(at: ["responseStatus", "code"]) == 201)
        #expect(secretCreate.value(at: ["user", "username"]) == "admin")
        let configCreate = try #require(events.first {
            $0.value(at: ["objectRef", "resource"]) == "configmaps" && $0["verb"] == "create" && ($0["userAgent"]?.stringValue ?? "").hasPrefix("kubectl")
        })
        #expect(configCreate["level"] == "RequestResponse")
        #expect(configCreate.value(at: ["requestObject", "data", "mode"]) == "fast" && configCreate.value(at: ["responseObject", "metadata", "uid"]) != nil, "\(configCreate)")
        let podCreate = try #require(events.first { $0.value(at: ["objectRef", "resource"]) == "pods" && $0["verb"] == "create" })
        #expect((podCreate.value(at: ["annotations", "pod-security.kubernetes.io/audit-violations"])?.stringValue ?? "").contains(#"would violate PodSecurity "restricted:latest""#),
                "\(podCreate)")
        let tenantEvents = try runCommand(BerthServerProcess.binary, ["audit", "--log", log, "--tenant", "red", "-o", "json"])
        let tenantLines = tenantEvents.output.split(separator: "\n")
        #expect(tenantLines.count >= 1 && tenantLines.allSatisfy { $0.contains(#""namespace":"ra""#) }, "\(tenantEvents.output) \(tenantEvents.error)")

        // Rotation: key2 first (secretbox), key1 still readable; rewrite every secret; drop key1.
        server.stop()
        let rotated = Self.encryption("  - secretbox: {keys: [{name: key2, secret: \(Self.key(2))}]}\n  - aesgcm: {keys: [{name: key1, secret: \(Self.key(1))}]}")
        try rotated.write(toFile: directory + "/enc2.yaml", atomically: true, encoding: .utf8)
        server = BerthServerProcess(role: "server", extraArguments: serverArguments(directory + "/enc2.yaml"), dataDirectory: dataDirectory)
        try await server.start()
        let all = try kubectl(["get", "secrets", "-A", "-o", "json"])
        #expect(try kubectl(["replace", "-f", "-"], input: all.output).status == 0)
        server.stop()
        let onlyNew = Self.encryption("  - secretbox: {keys: [{name: key2, secret: \(Self.key(2))}]}")
        try onlyNew.write(toFile: directory + "/enc3.yaml", atomically: true, encoding: .utf8)
        server = BerthServerProcess(role: "server", extraArguments: serverArguments(directory + "/enc3.yaml"), dataDirectory: dataDirectory)
        try await server.start()
        #expect(try kubectl(["get", "secret", "db", "-o", "jsonpath={.data.password}"]).output == Data("correct-horse-battery".utf8).base64EncodedString())
        stored = Self.storeBytes(dataDirectory)
        #expect(stored.range(of: plaintext) == nil)

        // A bad configuration stops the server with the field named.
        try "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: [{aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}}]}]\n"
            .write(toFile: directory + "/bad.yaml", atomically: true, encoding: .utf8)
        let refused = try runCommand(BerthServerProcess.binary, ["server", "--data-dir", directory + "/other", "--listen", "127.0.0.1:\(BerthServerProcess.freePort())",
                                                                 "--encryption-provider-config", directory + "/bad.yaml"], timeout: 20)
        #expect(refused.status != 0 && refused.error.contains("key k must be 16, 24 or 32 bytes"), "\(refused.error)")
    }
}
