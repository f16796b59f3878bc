import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `kubectl rollout history|undo daemonset` against a real control plane and simulated nodes:
/// the DaemonSet controller records a ControllerRevision per template, kubectl reads and
/// applies them, and the revisions go with their DaemonSet.
@Suite("DaemonSet history end to end", .blockingAllowed)
struct DaemonSetHistoryEndToEndTests {
    static let daemonSet = """
    apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: logs}
    spec:
      selector: {matchLabels: {app: logs}}
      template:
        metadata: {labels: {app: logs}}
        spec:
          tolerations: [{key: berth.dev/simulated, operator: Exists}]
          containers: [{name: main, image: berth/busybox:latest}]
    """

    @Test func rolloutHistoryAndUndo() async throws {
        try await SimulatedCluster.run(nodes: 2, prefix: "hist") { cluster in
            let client = cluster.client
            func revisions() async throws -> [String: Int] {
                let reply = try await client.request(.GET, "/apis/apps/v1/namespaces/default/controllerrevisions").checked().json()
                var numbers: [String: Int] = [:]
                for item in reply["items"]?.arrayValue ?? [] {
                    numbers[item.value(at: ["metadata", "name"])?.stringValue ?? ""] = item["revision"]?.intValue
                }
                return numbers
            }
            func image() async throws -> String? {
                try await client.request(.GET, "/apis/apps/v1/namespaces/default/daemonsets/logs").checked().json()
                    .value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["image"]?.stringValue
            }
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: Self.daemonSet).status == 0)
            #expect(try cluster.kubectl(["rollout", "status", "ds/logs", "--timeout=30s"]).status == 0)
            let first = try await waitFor("the first revision", timeout: 10) { () -> [String: Int]? in
                let numbers = try await revisions()
                return numbers.count == 1 ? numbers : nil
            }
            #expect(first.values.first == 1)
            #expect(try cluster.kubectl(["set", "image", "ds/logs", "main=berth/busybox:v2"]).status == 0)
            #expect(try cluster.kubectl(["rollout", "status", "ds/logs", "--timeout=30s"]).status == 0)
            _ = try await waitFor("two revisions", timeout: 10) { () -> Bool? in try await revisions().count == 2 ? true : nil }

            let history = try cluster.kubectl(["rollout", "history", "ds/logs"])
            #expect(history.status == 0, "\(history.error)")
            let rows = history.output.split(separator: "\n").filter { $0.first?.isNumber == true }.map { $0.split(separator: " ").first.map(String.init) ?? "" }
            #expect(rows == ["1", "2"], "\(history.output)")
            let detail = try cluster.kubectl(["rollout", "history", "ds/logs", "--revision=1"])
            #expect(detail.output.contains("berth/busybox:latest") && !detail.output.contains("berth/busybox:v2"), "\(detail.output)")
            let table = try cluster.kubectl(["get", "controllerrevisions", "--no-headers"])
            #expect(table.output.contains("daemonset.apps/logs"), "\(table.output)")

            let undo = try cluster.kubectl(["rollout", "undo", "ds/logs"])
            #expect(undo.status == 0 && undo.output.contains("rolled back"), "\(undo.output) \(undo.error)")
            #expect(try await image() == "berth/busybox:latest")
            #expect(try cluster.kubectl(["rollout", "status", "ds/logs", "--timeout=30s"]).status == 0)
            // The old template's revision is renumbered, not copied.
            let renumbered = try await waitFor("revision 1 renumbered to 3", timeout: 10) { () -> [String: Int]? in
                let numbers = try await revisions()
                return numbers.count == 2 && Set(numbers.values) == [2, 3] ? numbers : nil
            }
            #expect(renumbered[first.keys.first ?? ""] == 3)
            #expect(try cluster.kubectl(["rollout", "undo", "ds/logs", "--to-revision=2"]).status == 0)
            #expect(try await image() == "berth/busybox:v2")
            let missing = try cluster.kubectl(["rollout", "undo", "ds/logs", "--to-revision=9"])
            #expect(missing.status != 0 && missing.error.contains("unable to find specified revision 9"), "\(missing.error)")

            #expect(try cluster.kubectl(["delete", "ds", "logs"]).status == 0)
            _ = try await waitFor("revisions collected with their DaemonSet", timeout: 20) { () -> Bool? in
                try await revisions().isEmpty ? true : nil
            }
        }
    }
}
