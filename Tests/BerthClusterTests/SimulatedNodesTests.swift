import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth agent --simulate N` against a real control plane: the nodes register and renew, the
/// scheduler spreads a Deployment over them, their pods report Running, a GC'd Deployment's pods
/// go, `kubectl top` and the node proxy read the simulator's stats and metrics, and a stopped
/// simulator's nodes turn NotReady.
@Suite("Simulated nodes", .blockingAllowed)
struct SimulatedNodesTests {
    @Test("twelve simulated nodes take a 36-replica Deployment, three pods each, and go NotReady when stopped")
    func simulatedCluster() async throws {
        try await SimulatedCluster.run(nodes: 12, prefix: "sim") { cluster in
            let client = cluster.client
            let kubectl = { (arguments: [String]) throws -> CommandResult in try cluster.kubectl(arguments) }
            // Simulated nodes are tainted: a workload that does not tolerate it stays Pending.
            #expect(try kubectl(["create", "deployment", "wide", "--image=berth/busybox:latest", "--replicas=36"]).status == 0)
            let pending = try await waitFor("FailedScheduling for the taint", timeout: 30) { () -> String? in
                let events = try await client.request(.GET, "/api/v1/namespaces/default/events?fieldSelector=reason%3DFailedScheduling").checked().json()
                return (events["items"]?.arrayValue ?? []).compactMap { $0["message"]?.stringValue }.first { $0.contains("berth.dev/simulated") }
            }
            #expect(pending.contains("12 node(s) had untolerated taint"), "\(pending)")
            let running = try await client.request(.GET, "/api/v1/namespaces/default/pods?fieldSelector=status.phase%3DRunning").checked().json()
            #expect((running["items"]?.arrayValue ?? []).isEmpty)
            let tolerate = #"{"spec":{"template":{"spec":{"tolerations":[{"key":"berth.dev/simulated","operator":"Exists"}]}}}}"#
            #expect(try kubectl(["patch", "deployment", "wide", "-p", tolerate]).status == 0)
            let placement = try await waitFor("36 pods Running", timeout: 60) { () -> [String: Int]? in
                let reply = try await client.request(.GET, "/api/v1/namespaces/default/pods?labelSelector=app%3Dwide").checked().json()
                let pods = reply["items"]?.arrayValue ?? []
                let running = pods.filter { $0.value(at: ["status", "phase"]) == "Running" }
                guard running.count == 36 else { return nil }
                var counts: [String: Int] = [:]
                for pod in running { counts[pod.value(at: ["spec", "nodeName"])?.stringValue ?? "", default: 0] += 1 }
                return counts
            }
            #expect(placement.count == 12 && placement.values.allSatisfy { $0 == 3 }, "\(placement)")
            #expect(try kubectl(["rollout", "status", "deployment/wide", "--timeout=30s"]).status == 0)
            // Their simulator serves stats and metrics (berth.dev/agent-endpoint): kubectl top
            // and the node proxy reach simulated nodes as they reach real agents.
            let top = try await waitFor("kubectl top pods lists 36 pods", timeout: 30) { () -> [Substring]? in
                let result = try kubectl(["top", "pods", "--no-headers"])
                let lines = result.output.split(separator: "\n").filter { $0.hasPrefix("wide-") }
                return result.status == 0 && lines.count == 36 ? lines : nil
            }
            #expect(top.allSatisfy { $0.contains("Mi") }, "\(top)")
            let node = placement.keys.sorted()[0]
            let cadvisor = try kubectl(["get", "--raw", "/api/v1/nodes/\(node)/proxy/metrics/cadvisor"]).output
            #expect(cadvisor.split(separator: "\n").filter { $0.hasPrefix("container_cpu_usage_seconds_total{") && $0.contains("pod=\"wide-") }.count == 3, "\(cadvisor)")
            let logs = try kubectl(["get", "--raw", "/api/v1/nodes/\(node)/proxy/containerLogs/default/none"])
            #expect(logs.status != 0)
            #expect(try kubectl(["delete", "deployment", "wide"]).status == 0)
            _ = try await waitFor("pods garbage-collected", timeout: 30) { () -> Bool? in
                let reply = try await client.request(.GET, "/api/v1/namespaces/default/pods").checked().json()
                return (reply["items"]?.arrayValue ?? []).isEmpty ? true : nil
            }
            cluster.simulator.kill9()
            _ = try await waitFor("nodes NotReady after the grace", timeout: 30) { () -> Bool? in
                let lines = try kubectl(["get", "nodes", "--no-headers"]).output.split(separator: "\n")
                return lines.count == 12 && lines.allSatisfy { $0.contains("NotReady") } ? true : nil
            }
        }
    }

    @Test("a quarter of the nodes lost: their pods are evicted together and replaced on the others")
    func lostNodesPodsReplaced() async throws {
        try await SimulatedCluster.run(nodes: 9, prefix: "sim") { cluster in
            let client = cluster.client
            // Three more nodes in a simulator of their own, one per zone, to lose on their own.
            let doomed = SimulatedNodesProcess()
            defer { doomed.cleanUp() }
            try doomed.start(count: 3, prefix: "lost", server: cluster.server)
            _ = try await waitFor("12 Ready nodes", timeout: 30) { () -> Bool? in
                let lines = try cluster.kubectl(["get", "nodes", "--no-headers"]).output.split(separator: "\n")
                return lines.filter { $0.contains(" Ready ") }.count == 12 ? true : nil
            }
            // Two simulators, one control plane: every node's pod subnet comes from the control
            // plane (they used to pick their own, the same for both), and its InternalIP is in it.
            let nodes = try await client.request(.GET, "/api/v1/nodes").checked().json()["items"]?.arrayValue ?? []
            let subnets = nodes.compactMap { $0.value(at: ["spec", "podCIDR"])?.stringValue }
            #expect(subnets.count == 12 && Set(subnets).count == 12, "\(subnets)")
            for node in nodes {
                let cidr = node.value(at: ["spec", "podCIDR"])?.stringValue ?? "?"
                let address = (node.value(at: ["status", "addresses"])?.arrayValue ?? []).first { $0["type"] == "InternalIP" }?["address"]?.stringValue ?? ""
                #expect(address == cidr.replacingOccurrences(of: ".0/24", with: ".1"), "\(cidr) \(address)")
            }
            let manifest = """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: spread}
                spec:
                  replicas: 24
                  selector: {matchLabels: {app: spread}}
                  template:
                    metadata: {labels: {app: spread}}
                    spec:
                      tolerations: [{key: berth.dev/simulated, operator: Exists}]
                      containers: [{name: main, image: berth/busybox:latest}]
                """
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: manifest).status == 0)
            func running() async throws -> [String: Int] {
                let reply = try await client.request(.GET, "/api/v1/namespaces/default/pods?labelSelector=app%3Dspread").checked().json()
                var counts: [String: Int] = [:]
                for pod in reply["items"]?.arrayValue ?? [] where pod.value(at: ["status", "phase"]) == "Running" && pod.value(at: ["metadata", "deletionTimestamp"]) == nil {
                    counts[pod.value(at: ["spec", "nodeName"])?.stringValue ?? "", default: 0] += 1
                }
                return counts
            }
            let before = try await waitFor("24 pods Running", timeout: 60) { () -> [String: Int]? in
                let counts = try await running()
                return counts.values.reduce(0, +) == 24 ? counts : nil
            }
            let onLost = before.filter { $0.key.hasPrefix("lost-") }.values.reduce(0, +)
            #expect(onLost == 6, "\(before)")
            doomed.kill9()
            // Grace 10 s + eviction timeout 10 s, then the replacements.
            let after = try await waitFor("24 pods Running on the other nodes", timeout: 60) { () -> [String: Int]? in
                let counts = try await running()
                return counts.values.reduce(0, +) == 24 && !counts.keys.contains(where: { $0.hasPrefix("lost-") }) ? counts : nil
            }
            #expect(after.keys.allSatisfy { $0.hasPrefix("sim-") }, "\(after)")
            let events = try await client.request(.GET, "/api/v1/namespaces/default/events?fieldSelector=reason%3DTaintManagerEviction").checked().json()
            #expect((events["items"]?.arrayValue ?? []).count == onLost)
            let left = try await client.request(.GET, "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dlost-0").checked().json()
            #expect((left["items"]?.arrayValue ?? []).isEmpty)
        }
    }
}
