import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Acknowledged writes survive `kill -9`; revisions continue; a watcher resuming from its last
/// revision sees no gap and no duplicate.
@Suite("durability across kill -9", .serialized, .blockingAllowed)
struct DurabilityTests {
    @Test func acknowledgedWritesSurviveKill9() async throws {
        let server = BerthServerProcess()
        defer { server.cleanUp() }
        try await server.start()
        var client = try server.client()
        let start = try await client.request(.GET, "/api/v1/namespaces/default/configmaps").checked().json()
        let startRevision = try #require(start.value(at: ["metadata", "resourceVersion"])?.stringValue)

        // Watch from before the writes and consume only the first half of the events.
        let events = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(startRevision)")
        let total = 300
        let path = client.path(.configMap, namespace: "default")
        let acknowledged = try await withThrowingTaskGroup(of: Int64.self) { [client] group in
            for index in 0..<total {
                group.addTask {
                    let body: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("cm-\(index)")], "data": ["i": .string(String(index))]]
                    let reply = try await client.request(.POST, path, body: JSONWriter.bytes(body)).checked().json()
                    return Int64(reply.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
                }
            }
            var revisions: [Int64] = []
            for try await revision in group { revisions.append(revision) }
            return revisions
        }
        #expect(acknowledged.count == total && Set(acknowledged).count == total)
        var seen: [Int64] = []
        // Only this test's ConfigMaps: the root CA publisher may add kube-root-ca.crt to the
        // namespace after the revision the watch starts from (it starts late on a busy host).
        func ours(_ event: JSONValue) -> Bool { event.value(at: ["object", "metadata", "name"])?.stringValue?.hasPrefix("cm-") == true }
        for try await event in events where ours(event) {
            seen.append(Int64(event.value(at: ["object", "metadata", "resourceVersion"])?.stringValue ?? "") ?? 0)
            if seen.count == total / 2 { break }
        }
        let lastSeen = try #require(seen.last)
        await client.shutdown()

        server.kill9()
        try await server.start()
        client = try server.client()
        defer { Task { [client] in await client.shutdown() } }

        let list = try await client.request(.GET, "/api/v1/namespaces/default/configmaps").checked().json()
        let names = Set(list["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } ?? []).filter { $0.hasPrefix("cm-") }
        #expect(names == Set((0..<total).map { "cm-\($0)" }))

        // The watcher resumes after its last revision: exactly the rest, in order, once each.
        let resumed = try await client.watch("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(lastSeen)")
        var rest: [Int64] = []
        for try await event in resumed where ours(event) {
            rest.append(Int64(event.value(at: ["object", "metadata", "resourceVersion"])?.stringValue ?? "") ?? 0)
            if rest.count == total - seen.count { break }
        }
        #expect(Set(seen).isDisjoint(with: rest))
        #expect((seen + rest).sorted() == acknowledged.sorted())
        #expect(rest == rest.sorted())

        // Revisions continue above everything acknowledged before the crash.
        let after = try await client.request(.POST, path, body: JSONWriter.bytes(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "after"]])).checked().json()
        let revision = Int64(after.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
        #expect(revision > acknowledged.max()!)
    }
}
