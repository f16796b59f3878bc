import BerthCore
import BerthTestSupport
import Foundation
import NIOCore
import Synchronization
import Testing
@testable import BerthAPIServer
@testable import BerthClient

/// Clients of the server's own process (controllers, scheduler, `berth up`'s agent) reach it
/// without sockets; the same handlers answer, the admin token is still checked, watches stream
/// with back-pressure and end when their reader goes.
@Suite("in-process transport", .blockingAllowed)
struct InProcessTransportTests {
    static func client(_ server: APIServer, token: String) throws -> APIClient {
        // The server URL is never dialled: nothing listens there.
        let config = Kubeconfig(server: "https://127.0.0.1:1", certificateAuthority: nil, token: token)
        return try APIClient(config: config, inProcess: InProcessServer(server: server))
    }

    @Test("create, get, 422 with causes, warnings, and a wrong token is 401")
    func requests() async throws {
        try await APIHarness.run(token: "secret") { harness, _ in
            let client = try Self.client(harness.server, token: "secret")
            let path = "/api/v1/namespaces/default/pods"
            let created = try await client.request(.POST, path, body: JSONWriter.bytes(Fixtures.pod("local"))).checked()
            #expect(created.status == 201)
            let got = try await client.request(.GET, path + "/local").checked().json()
            #expect(got.value(at: ["metadata", "name"])?.stringValue == "local")
            var bad = Fixtures.pod("Bad_Name")
            bad.set(.string("x"), at: ["spec", "unknownField"])
            let refused = try await client.request(.POST, path + "?fieldValidation=Warn", body: JSONWriter.bytes(bad))
            #expect(refused.status == 422)
            do {
                _ = try refused.checked()
                Issue.record("a 422 must throw")
            } catch let error as BerthError {
                #expect(error.code == .invalid)
                #expect(error.causes.contains { $0.field == "metadata.name" })
            }
            var unknown = Fixtures.pod("warned")
            unknown.set(.string("x"), at: ["spec", "unknownField"])
            let warned = try await client.request(.POST, path + "?fieldValidation=Warn", body: JSONWriter.bytes(unknown)).checked()
            #expect(warned.warnings.contains { $0.contains("unknown field \\\"spec.unknownField\\\"") }, "\(warned.warnings)")
            let intruder = try Self.client(harness.server, token: "wrong")
            #expect(try await intruder.request(.GET, path).status == 401)
            await intruder.shutdown()
            await client.shutdown()
        }
    }

    @Test("a watch streams more events than the pipe holds, in order, and the server still answers after the watch is dropped")
    func watch() async throws {
        try await APIHarness.run(token: "secret") { harness, _ in
            let client = try Self.client(harness.server, token: "secret")
            let path = "/api/v1/namespaces/default/configmaps"
            let start = try await client.request(.GET, path).checked().json()
            let revision = start.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "0"
            // More events than the pipe holds, written before anyone reads: the writer waits.
            for index in 0..<40 {
                let map: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("m\(index)")], "data": ["i": .string("\(index)")]]
                _ = try await client.request(.POST, path, body: JSONWriter.bytes(map)).checked()
            }
            var names: [String] = []
            for try await event in try await client.watch(path + "?watch=true&resourceVersion=\(revision)") {
                names.append(event.value(at: ["object", "metadata", "name"])?.stringValue ?? "")
                if names.count == 40 { break }
            }
            #expect(names == (0..<40).map { "m\($0)" })
            let status = try await client.request(.DELETE, path + "/m0").status
            #expect(status == 200)
            await client.shutdown()
        }
    }

    @Test("the pipe: the writer waits for a slow reader, and fails once the reader has gone")
    func pipe() async throws {
        let pipe = BodyPipe()
        let written = Atomic<Int>(0)
        let writer = Task {
            do {
                for index in 0..<(BodyPipe.capacity + 5) {
                    try await pipe.write(ByteBuffer(string: "\(index)"))
                    written.add(1, ordering: .relaxed)
                }
                pipe.finish()
                return "finished"
            } catch {
                return "\(type(of: error))"
            }
        }
        // Blocked on the chunk after a full pipe: `capacity` written, the next one waiting — and
        // still waiting a while later (a busy host may take a while to get the writer that far).
        _ = try await waitFor("the writer fills the pipe", timeout: 10) { written.load(ordering: .relaxed) >= BodyPipe.capacity - 1 ? true : nil }
        try await Task.sleep(for: .milliseconds(100))
        #expect(written.load(ordering: .relaxed) == BodyPipe.capacity - 1)
        #expect(try await pipe.next().map { String(buffer: $0) } == "0")
        _ = try? await waitFor("the writer moves on by one", timeout: 10) { written.load(ordering: .relaxed) >= BodyPipe.capacity ? true : nil }
        try await Task.sleep(for: .milliseconds(100))
        #expect(written.load(ordering: .relaxed) == BodyPipe.capacity)
        pipe.cancel()
        #expect(await writer.value == "CancellationError")
    }
}
