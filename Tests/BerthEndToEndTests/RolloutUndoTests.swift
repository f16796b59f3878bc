import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `kubectl rollout undo deployment` against a real control plane and simulated nodes: the
/// rollback scales the old revision's ReplicaSet back up under a new revision number, as
/// Kubernetes does, instead of creating a fourth ReplicaSet.
@Suite("Deployment rollout undo", .blockingAllowed)
struct RolloutUndoTests {
    static let deployment = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          tolerations: [{key: berth.dev/simulated, operator: Exists}]
          containers: [{name: main, image: "berth/busybox:1"}]
    """

    @Test func undoReusesTheOldReplicaSet() async throws {
        try await SimulatedCluster.run(nodes: 2, prefix: "undo") { cluster in
            let client = cluster.client
            func replicaSets() async throws -> [String: (revision: String, replicas: Int, image: String)] {
                let list = try await client.request(.GET, "/apis/apps/v1/namespaces/default/replicasets").checked().json()
                var result: [String: (String, Int, String)] = [:]
                for item in list["items"]?.arrayValue ?? [] {
                    result[item.value(at: ["metadata", "name"])?.stringValue ?? ""] = (
                        item.value(at: ["metadata", "annotations", "deployment.kubernetes.io/revision"])?.stringValue ?? "",
                        item.value(at: ["spec", "replicas"])?.intValue ?? -1,
                        item.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["image"]?.stringValue ?? ""
                    )
                }
                return result
            }
            func rolledOut() throws {
                let status = try cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=60s"])
                #expect(status.status == 0, "\(status.output) \(status.error)")
            }
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: Self.deployment).status == 0)
            try rolledOut()
            for image in ["berth/busybox:2", "berth/busybox:3"] {
                #expect(try cluster.kubectl(["set", "image", "deployment/web", "main=\(image)"]).status == 0)
                try rolledOut()
            }
            // kube-scheduler's and the deployment controller's Events.
            let events = try await client.request(.GET, "/api/v1/namespaces/default/events").checked().json()["items"]?.arrayValue ?? []
            let scheduled = events.filter { $0["reason"] == "Scheduled" }
            #expect(scheduled.count >= 2 && scheduled.allSatisfy { ($0["message"]?.stringValue ?? "").hasPrefix("Successfully assigned default/web-") }, "\(scheduled)")
            #expect(scheduled.first?.value(at: ["source", "component"]) == "default-scheduler")
            let scaling = events.filter { $0["reason"] == "ScalingReplicaSet" }.compactMap { $0["message"]?.stringValue }
            #expect(scaling.contains { $0.hasPrefix("Scaled up replica set web-") && $0.hasSuffix(" from 0 to 2") }, "\(scaling)")
            #expect(scaling.contains { $0.hasPrefix("Scaled down replica set web-") && $0.hasSuffix(" to 0") }, "\(scaling)")
            let before = try await replicaSets()
            #expect(before.count == 3, "\(before)")
            let second = try #require(before.first { $0.value.image == "berth/busybox:2" })

            let undo = try cluster.kubectl(["rollout", "undo", "deployment/web"])
            #expect(undo.status == 0 && undo.output.contains("rolled back"), "\(undo.output) \(undo.error)")
            try rolledOut()
            let after = try await replicaSets()
            #expect(after.count == 3, "no new ReplicaSet: \(after)")
            #expect(after[second.key]?.revision == "4", "the revision-2 ReplicaSet is revision 4 now: \(after)")
            #expect(after[second.key]?.replicas == 2, "\(after)")
            let history = try cluster.kubectl(["rollout", "history", "deployment/web"])
            let revisions = history.output.split(separator: "\n").dropFirst(2).compactMap { $0.split(separator: " ").first.map(String.init) }
            #expect(revisions == ["1", "3", "4"], "\(history.output)")

            // Undo to a named revision works the same way.
            let back = try cluster.kubectl(["rollout", "undo", "deployment/web", "--to-revision=1"])
            #expect(back.status == 0, "\(back.error)")
            try rolledOut()
            let last = try await replicaSets()
            #expect(last.count == 3, "\(last)")
            #expect(last.first { $0.value.image == "berth/busybox:1" }?.value.revision == "5", "\(last)")

            // The README's way: kubectl create deployment (its template carries the empty
            // fields Go clients send), set image, undo. Pods stay Pending (no toleration); the
            // ReplicaSets are what matters.
            #expect(try cluster.kubectl(["create", "deployment", "quick", "--image=berth/busybox:1", "--replicas=1", "--", "sleep", "3600"]).status == 0)
            _ = try await waitFor("the first ReplicaSet", timeout: 20) { try await replicaSets().keys.filter { $0.hasPrefix("quick-") }.count == 1 ? true : nil }
            #expect(try cluster.kubectl(["set", "image", "deployment/quick", "busybox=berth/busybox:2"]).status == 0)
            _ = try await waitFor("the second ReplicaSet", timeout: 20) { try await replicaSets().keys.filter { $0.hasPrefix("quick-") }.count == 2 ? true : nil }
            #expect(try cluster.kubectl(["rollout", "undo", "deployment/quick"]).status == 0)
            try await Task.sleep(for: .seconds(2))
            let quick = try await replicaSets().filter { $0.key.hasPrefix("quick-") }
            #expect(quick.count == 2, "\(quick)")
            #expect(quick.first { $0.value.image == "berth/busybox:1" }?.value.revision == "3", "\(quick)")
        }
    }
}
