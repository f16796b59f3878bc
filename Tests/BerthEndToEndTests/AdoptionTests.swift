import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Controller references through kubectl against a real control plane and simulated nodes: a
/// ReplicaSet adopts a matching stray pod (and so creates one pod fewer), releases a pod that is
/// relabelled out of its selector (and replaces it); a Deployment deleted with
/// `--cascade=orphan` leaves its ReplicaSet, which the re-applied Deployment adopts with its pods.
@Suite("Adoption and release", .blockingAllowed)
struct AdoptionTests {
    static let replicaSet = """
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata: {name: keeper}
    spec:
      replicas: 2
      selector: {matchLabels: {app: stray}}
      template:
        metadata: {labels: {app: stray}}
        spec:
          tolerations: [{key: berth.dev/simulated, operator: Exists}]
          containers: [{name: main, image: berth/busybox:latest}]
    """

    static let deployment = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          tolerations: [{key: berth.dev/simulated, operator: Exists}]
          containers: [{name: main, image: berth/busybox:latest}]
    """

    @Test func adoptAndRelease() async throws {
        try await SimulatedCluster.run(nodes: 2, prefix: "adopt") { cluster in
            let client = cluster.client
            func items(_ path: String) async throws -> [JSONValue] {
                try await client.request(.GET, path).checked().json()["items"]?.arrayValue ?? []
            }
            func pods(_ selector: String) async throws -> [JSONValue] {
                try await items("/api/v1/namespaces/default/pods?labelSelector=" + selector)
                    .filter { $0.value(at: ["metadata", "deletionTimestamp"]) == nil }
            }
            func controller(_ object: JSONValue) -> String? {
                object.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first { $0["controller"] == true }?["uid"]?.stringValue
            }

            // A stray pod first, then a ReplicaSet whose selector matches it.
            #expect(try cluster.kubectl(["run", "stray", "--image=berth/busybox:latest", "--labels=app=stray",
                                         #"--overrides={"spec":{"tolerations":[{"key":"berth.dev/simulated","operator":"Exists"}]}}"#]).status == 0)
            // Generous, as the fixture's wait for nodes: under the full suite's load the first
            // pod of a fresh cluster took over 20 s to be scheduled and reported twice (alone: 5 s).
            _ = try await waitFor("stray Running", timeout: 90) { () -> Bool? in
                try await pods("app%3Dstray").first?.value(at: ["status", "phase"]) == "Running" ? true : nil
            }
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: Self.replicaSet).status == 0)
            let keeperUID = try #require(try await client.request(.GET, "/apis/apps/v1/namespaces/default/replicasets/keeper").checked().json()
                .value(at: ["metadata", "uid"])?.stringValue)
            let adopted = try await waitFor("two pods owned by keeper, stray among them", timeout: 20) { () -> [JSONValue]? in
                let all = try await pods("app%3Dstray")
                return all.count == 2 && all.allSatisfy({ controller($0) == keeperUID }) ? all : nil
            }
            #expect(adopted.contains { $0.value(at: ["metadata", "name"]) == "stray" }, "the ReplicaSet made one pod and adopted the other")
            let reference = adopted.first { $0.value(at: ["metadata", "name"]) == "stray" }?.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first
            #expect(reference?["kind"] == "ReplicaSet" && reference?["name"] == "keeper" && reference?["blockOwnerDeletion"] == true)

            // Relabelled out of the selector: released, and replaced.
            #expect(try cluster.kubectl(["label", "pod", "stray", "app=loose", "--overwrite"]).status == 0)
            _ = try await waitFor("stray released and replaced", timeout: 20) { () -> Bool? in
                let loose = try await pods("app%3Dloose")
                let owned = try await pods("app%3Dstray")
                guard loose.count == 1, controller(loose[0]) == nil, owned.count == 2, owned.allSatisfy({ controller($0) == keeperUID }) else { return nil }
                return !owned.contains { $0.value(at: ["metadata", "name"]) == "stray" } ? true : nil
            }

            // A Deployment deleted with --cascade=orphan leaves its ReplicaSet and pods; applied
            // again, it takes them back instead of starting over.
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: Self.deployment).status == 0)
            let first = try await waitFor("3 web pods Running", timeout: 90) { () -> Set<String>? in
                let running = try await pods("app%3Dweb").filter { $0.value(at: ["status", "phase"]) == "Running" }
                return running.count == 3 ? Set(running.compactMap { $0.value(at: ["metadata", "name"])?.stringValue }) : nil
            }
            #expect(try cluster.kubectl(["delete", "deployment", "web", "--cascade=orphan"]).status == 0)
            let orphaned = try await waitFor("the ReplicaSet orphaned", timeout: 20) { () -> [JSONValue]? in
                let sets = try await items("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb")
                let deployments = try await items("/apis/apps/v1/namespaces/default/deployments")
                return deployments.isEmpty && sets.count == 1 && controller(sets[0]) == nil ? sets : nil
            }
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: Self.deployment).status == 0)
            let deploymentUID = try #require(try await client.request(.GET, "/apis/apps/v1/namespaces/default/deployments/web").checked().json()
                .value(at: ["metadata", "uid"])?.stringValue)
            _ = try await waitFor("the ReplicaSet adopted", timeout: 20) { () -> Bool? in
                let sets = try await items("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb")
                return sets.count == 1 && controller(sets[0]) == deploymentUID ? true : nil
            }
            #expect(try cluster.kubectl(["rollout", "status", "deployment/web", "--timeout=20s"]).status == 0)
            let sets = try await items("/apis/apps/v1/namespaces/default/replicasets?labelSelector=app%3Dweb")
            #expect(sets.count == 1 && sets.first?.value(at: ["metadata", "uid"]) == orphaned.first?.value(at: ["metadata", "uid"]), "no second ReplicaSet")
            let after = Set(try await pods("app%3Dweb").compactMap { $0.value(at: ["metadata", "name"])?.stringValue })
            #expect(after == first, "the same pods")
        }
    }
}
