import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// A restarted control plane counts what exists before it acts. Restarting `berth up` used to
/// give Deployments a full second set of pods (started, then deleted 30 s later): the
/// Deployment and ReplicaSet workers started before their informers had synced, so a
/// Deployment judged before the ReplicaSets were listed tried to create its ReplicaSet again,
/// got AlreadyExists, took it for a hash collision and rolled out a new ReplicaSet.
@Suite("restarting the control plane", .serialized, .blockingAllowed)
struct RestartTests {
    static let deployments = 30
    static let replicas = 10

    static func deployment(_ index: Int) -> [UInt8] {
        let labels: JSONValue = ["app": .string("d\(index)")]
        let manifest: JSONValue = [
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string("d\(index)")],
            "spec": [
                "replicas": .number(String(replicas)), "selector": ["matchLabels": labels],
                "template": ["metadata": ["labels": labels], "spec": ["tolerations": [["key": "berth.dev/simulated", "operator": "Exists"]], "containers": [["name": "c", "image": "berth/busybox:latest"]]]],
            ],
        ]
        return JSONWriter.bytes(manifest)
    }

    static func podUIDs(_ client: APIClient) async throws -> Set<String> {
        let list = try await client.request(.GET, "/api/v1/namespaces/default/pods").json()
        return Set((list["items"]?.arrayValue ?? []).compactMap { $0.value(at: ["metadata", "uid"])?.stringValue })
    }

    static func names(_ client: APIClient, _ plural: String) async throws -> Set<String> {
        let list = try await client.request(.GET, "/apis/apps/v1/namespaces/default/\(plural)").json()
        return Set((list["items"]?.arrayValue ?? []).compactMap { $0.value(at: ["metadata", "name"])?.stringValue })
    }

    @Test func aRestartUnder300RunningPodsCreatesNoPod() async throws {
        try await SimulatedCluster.run(nodes: 3, prefix: "restart") { cluster in
            for index in 0..<Self.deployments {
                let reply = try await cluster.client.request(.POST, "/apis/apps/v1/namespaces/default/deployments", body: Self.deployment(index))
                #expect(reply.status == 201)
            }
            let total = Self.deployments * Self.replicas
            _ = try await waitFor("\(total) running pods", timeout: 120) { () -> Bool? in
                let lines = try cluster.kubectl(["get", "pods", "--no-headers"]).output.split(separator: "\n")
                return lines.filter { $0.contains(" Running ") }.count == total ? true : nil
            }
            let before = try await Self.podUIDs(cluster.client)
            let replicaSetsBefore = try await Self.names(cluster.client, "replicasets")
            #expect(before.count == total)
            #expect(replicaSetsBefore.count == Self.deployments)
            // SIGTERM and start again on the same data directory and port, as `make run` twice.
            cluster.server.stop()
            try await cluster.server.start()
            let client = try cluster.server.client()
            defer { Task { await client.shutdown() } }
            // Long enough for the restarted controllers to have acted on every ReplicaSet (each
            // is reconciled as soon as its informer lists it).
            var seen = Set<String>()
            for _ in 0..<20 {
                try await Task.sleep(for: .milliseconds(500))
                seen.formUnion(try await Self.podUIDs(client))
            }
            let created = seen.subtracting(before)
            #expect(created.isEmpty, "\(created.count) pods created after the restart")
            #expect(try await Self.podUIDs(client) == before)
            #expect(try await Self.names(client, "replicasets") == replicaSetsBefore)
        }
    }
}
