import BerthCore
import BerthTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing
@testable import BerthAPIServer

@Suite("audit log and mounts", .blockingAllowed)
struct AuditLogTests {
    static func request(_ path: String) -> Request {
        Request(head: HTTPRequest(method: .get, scheme: "https", authority: "berth", path: path), body: RequestBody(buffer: ByteBuffer()))
    }

    @Test("the log rotates past its size, keeping the newest backups")
    func rotation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try AuditLog(path: directory + "/audit.log", maximumBytes: 2_000, maximumBackups: 2)
        let attributes = RequestAttributes(user: .admin, verb: "get", path: "/version", target: nil)
        for index in 0..<40 {
            log.record(attributes, request: Self.request("/version?n=\(index)"), status: 200, received: Date(), finished: Date())
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["audit.log", "audit.log.1", "audit.log.2"])
        for file in files {
            let size = try FileManager.default.attributesOfItem(atPath: directory + "/" + file)[.size] as? Int ?? 0
            #expect(size <= 2_000 && size > 0, "\(file): \(size)")
        }
        let newest = try String(contentsOfFile: directory + "/audit.log", encoding: .utf8)
        #expect(newest.contains("/version?n=39"))
        let lines = newest.split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONParser.parse(Array($0.utf8)))?["kind"] == "Event" })
    }

    @Test("an audit policy: the first matching rule sets the level; users, groups, verbs, resources, subresources, namespaces, URLs")
    func policyRules() throws {
        let text = """
            {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"], "rules": [
              {"level": "None", "users": ["system:kube-proxy"]},
              {"level": "RequestResponse", "resources": [{"group": "", "resources": ["pods/exec"]}]},
              {"level": "Request", "userGroups": ["dev"], "verbs": ["create"], "namespaces": ["a"]},
              {"level": "Metadata", "nonResourceURLs": ["/healthz*"]},
              {"level": "Metadata", "resources": [{"group": "apps", "resources": ["deployments"], "resourceNames": ["web"]}]}
            ]}
            """
        let policy = try AuditPolicy.parse(try JSONParser.parse(Array(text.utf8)))
        let alice = UserInfo(name: "alice", groups: ["dev", "system:authenticated"])
        func attributes(_ user: UserInfo, _ verb: String, _ descriptor: ResourceDescriptor?, namespace: String? = nil, name: String? = nil,
                        subresource: String? = nil, path: String = "/api") -> RequestAttributes {
            RequestAttributes(user: user, verb: verb, path: path,
                              target: descriptor.map { ResourceTarget(descriptor: $0, namespace: namespace, name: name, subresource: subresource) })
        }
        #expect(policy.decide(attributes(UserInfo(name: "system:kube-proxy", groups: []), "create", .pod, namespace: "a", name: "p", subresource: "exec")).level == .none)
        #expect(policy.decide(attributes(alice, "create", .pod, namespace: "b", name: "p", subresource: "exec")).level == .requestResponse)
        #expect(policy.decide(attributes(alice, "create", .configMap, namespace: "a")).level == .request)
        #expect(policy.decide(attributes(alice, "create", .configMap, namespace: "b")).level == .none, "no rule matches: not recorded")
        #expect(policy.decide(attributes(alice, "get", nil, path: "/healthz/ready")).level == .metadata)
        #expect(policy.decide(attributes(alice, "get", .deployment, namespace: "x", name: "web")).level == .metadata)
        #expect(policy.decide(attributes(alice, "get", .deployment, namespace: "x", name: "api")).level == .none)
        #expect(policy.decide(attributes(alice, "get", nil, path: "/healthz")).omitted == ["RequestReceived"])
        #expect(throws: BerthError.self) { try AuditPolicy.parse(["apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [["level": "Everything"]]]) }
    }

    @Test("a mounted handler is served through the pipeline: anonymous is refused, the admin reaches it, a node does not")
    func mountsGoThroughThePipeline() async throws {
        try await APIHarness.run(token: "secret") { harness, client in
            harness.server.mount(Mount(name: "test", matches: Mount.prefix("/berth-test/")) { _, request, attributes, _ throws(BerthError) in
                Responses.json(["path": .string(request.uri.path), "user": .string(attributes.user.name)])
            })
            let anonymous = try await client.send(.get, "/berth-test/hello")
            #expect(anonymous.status == 401)
            let admin = try await client.send(.get, "/berth-test/hello", headers: [.authorization: "Bearer secret"])
            #expect(admin.status == 200 && admin.json["user"] == "admin" && admin.json["path"] == "/berth-test/hello")
            #expect(try await client.send(.get, "/berth-testing", headers: [.authorization: "Bearer secret"]).status == 404)
        }
    }
}
