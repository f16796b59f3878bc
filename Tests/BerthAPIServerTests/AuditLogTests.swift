import BerthCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing
@testable import BerthAPIServer

@Suite("audit log and mounts")
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
