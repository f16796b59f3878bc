import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Priority and preemption through kubectl against a real control plane and two simulated
/// nodes (32 cpu each): low-priority replicas fill both nodes, a pod whose class says `Never`
/// waits, and a high-priority pod evicts exactly one replica and runs in its place.
@Suite("Preemption end to end", .blockingAllowed)
struct PreemptionEndToEndTests {
    static let manifest = """
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: low}
    value: 10
    ---
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: high}
    value: 1000
    description: front-end pods
    ---
    apiVersion: scheduling.k8s.io/v1
    kind: PriorityClass
    metadata: {name: polite}
    value: 2000
    preemptionPolicy: Never
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: filler}
    spec:
      replicas: 4
      selector: {matchLabels: {app: filler}}
      template:
        metadata: {labels: {app: filler}}
        spec:
          priorityClassName: low
          tolerations: [{key: berth.dev/simulated, operator: Exists}]
          containers:
          - {name: main, image: berth/busybox:latest, resources: {requests: {cpu: "15"}}}
    """

    static func pod(_ name: String, className: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(name)}
        spec:
          priorityClassName: \(className)
          tolerations: [{key: berth.dev/simulated, operator: Exists}]
          containers:
          - {name: main, image: berth/busybox:latest, resources: {requests: {cpu: "10"}}}
        """
    }

    @Test("a high-priority pod evicts one low-priority replica; preemptionPolicy Never waits")
    func preemptsOneReplica() async throws {
        try await SimulatedCluster.run(nodes: 2, prefix: "pre") { cluster in
            let client = cluster.client
            let kubectl = { (arguments: [String], input: String?) throws -> CommandResult in try cluster.kubectl(arguments, input: input) }
            func pods(_ selector: String) async throws -> [JSONValue] {
                let reply = try await client.request(.GET, "/api/v1/namespaces/default/pods?labelSelector=" + selector).checked().json()
                return reply["items"]?.arrayValue ?? []
            }
            func events(_ reason: String) async throws -> [JSONValue] {
                let reply = try await client.request(.GET, "/api/v1/namespaces/default/events?fieldSelector=reason%3D" + reason).checked().json()
                return reply["items"]?.arrayValue ?? []
            }
            let applied = try kubectl(["apply", "-f", "-"], Self.manifest)
            #expect(applied.status == 0, "\(applied.error)")
            let table = try kubectl(["get", "priorityclass", "high", "low", "--no-headers"], nil).output
            #expect(table.contains("1000") && table.contains("PreemptLowerPriority"), "\(table)")
            let fillers = try await waitFor("4 filler pods Running", timeout: 30) { () -> [JSONValue]? in
                let running = try await pods("app%3Dfiller").filter { $0.value(at: ["status", "phase"]) == "Running" }
                return running.count == 4 ? running : nil
            }
            #expect(fillers.allSatisfy { $0.value(at: ["spec", "priority"]) == 10 })

            // Higher priority, but its class forbids preempting: it waits and nobody is evicted.
            #expect(try kubectl(["apply", "-f", "-"], Self.pod("polite", className: "polite")).status == 0)
            let waiting = try await waitFor("FailedScheduling for polite", timeout: 20) { () -> String? in
                try await events("FailedScheduling").first { $0.value(at: ["involvedObject", "name"]) == "polite" }?["message"]?.stringValue
            }
            #expect(waiting == "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.")
            #expect(try await events("Preempted").isEmpty)
            #expect(try kubectl(["delete", "pod", "polite", "--wait=false"], nil).status == 0)

            #expect(try kubectl(["apply", "-f", "-"], Self.pod("urgent", className: "high")).status == 0)
            let urgent = try await waitFor("urgent Running", timeout: 30) { () -> JSONValue? in
                let reply = try await client.request(.GET, "/api/v1/namespaces/default/pods/urgent").checked().json()
                return reply.value(at: ["status", "phase"]) == "Running" ? reply : JSONValue?.none
            }
            let node = try #require(urgent.value(at: ["spec", "nodeName"])?.stringValue, "\(urgent)")
            #expect(urgent.value(at: ["spec", "priority"]) == 1000)
            #expect(urgent.value(at: ["status", "nominatedNodeName"])?.stringValue == node)
            let preempted = try await events("Preempted")
            #expect(preempted.count == 1, "exactly one victim: \(preempted)")
            #expect(preempted.first?["message"]?.stringValue == "Preempted by pod default/urgent on node \(node)")
            let victim = try #require(preempted.first?.value(at: ["involvedObject", "name"])?.stringValue)
            #expect(fillers.contains { $0.value(at: ["metadata", "name"])?.stringValue == victim && $0.value(at: ["spec", "nodeName"])?.stringValue == node })

            // The Deployment replaces the victim, but the replacement fits nowhere and outranks no one.
            let replacement = try await waitFor("the replacement waits", timeout: 30) { () -> String? in
                let all = try await pods("app%3Dfiller")
                let running = all.filter { $0.value(at: ["status", "phase"]) == "Running" && $0.value(at: ["metadata", "deletionTimestamp"]) == nil }
                guard all.count == 4, running.count == 3, let pending = all.first(where: { $0.value(at: ["spec", "nodeName"]) == nil }) else { return nil }
                return pending.value(at: ["metadata", "name"])?.stringValue
            }
            let message = try await waitFor("FailedScheduling for the replacement", timeout: 20) { () -> String? in
                try await events("FailedScheduling").first { $0.value(at: ["involvedObject", "name"])?.stringValue == replacement }?["message"]?.stringValue
            }
            #expect(message == "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.")
            #expect(try await events("Preempted").count == 1, "no second eviction")
            #expect(try kubectl(["delete", "pod", "urgent", "--wait=false"], nil).status == 0)
            _ = try await waitFor("the replacement runs once urgent is gone", timeout: 30) { () -> Bool? in
                try await pods("app%3Dfiller").filter { $0.value(at: ["status", "phase"]) == "Running" }.count == 4 ? true : nil
            }
        }
    }
}
