import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `kubernetes.io/ingress-bandwidth` / `egress-bandwidth` measured with iperf3 between two pods
/// on different hosts (iperf3 runs from the host inside the pods' network namespaces: the
/// shaping sits on the pod's veth, whoever sends).
@Suite("Pod bandwidth limits", .serialized, .blockingAllowed)
struct BandwidthTests {
    static func pod(_ name: String, annotations: String, node: String) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata:
          name: \(name)
          annotations: {\(annotations)}
        spec:
          nodeName: \(node)
          terminationGracePeriodSeconds: 1
          containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]
        """
    }

    static func megabits(_ json: String, receiver: Bool = true) throws -> Double {
        let value = try JSONParser.parse(Array(json.utf8))
        let bits = value["end"]?[receiver ? "sum_received" : "sum_sent"]?["bits_per_second"]
        guard case .number(let text)? = bits, let number = Double(text) else { throw BerthError(.internalError, "no iperf3 result in \(json.prefix(300))") }
        return number / 1_000_000
    }

    @Test("a pod limited to 10 Mbit/s each way measures at most 11 Mbit/s in both directions",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/iperf3")))
    func limits() async throws {
        let cluster = try await ClusterFixture.start(hosts: 2)
        do {
            try cluster.apply(Self.pod("slow", annotations: "kubernetes.io/ingress-bandwidth: 10M, kubernetes.io/egress-bandwidth: 10M", node: cluster.hosts[0].name)
                              + "\n---\n" + Self.pod("peer", annotations: "", node: cluster.hosts[1].name))
            let pods = try await waitFor("both pods running", timeout: 60) { () -> [String: Pod]? in
                let list = try await cluster.pods(selector: "").filter { $0.status?.phase == "Running" && $0.status?.podIP != nil }
                return list.count == 2 ? Dictionary(uniqueKeysWithValues: list.map { ($0.metadata.name ?? "", $0) }) : nil
            }
            let slow = try #require(pods["slow"]), peer = try #require(pods["peer"])
            func namespace(_ pod: Pod) -> String { "berth-\((pod.metadata.uid ?? "").prefix(18))" }
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            server.arguments = ["netns", "exec", namespace(slow), "/usr/bin/iperf3", "-s", "-p", "5201"]
            server.standardOutput = FileHandle.nullDevice
            server.standardError = FileHandle.nullDevice
            try server.run()
            defer {
                // SIGKILL: a child of the test process inherits its blocked signals, TERM included.
                kill(server.processIdentifier, SIGKILL)
                server.waitUntilExit()
            }
            try await Task.sleep(for: .milliseconds(500))
            let address = slow.status?.podIP ?? ""
            // Into the slow pod (its ingress limit), then out of it (-R: its egress limit).
            // An iperf3 server still closing the previous test answers "the server is busy": try again.
            func measure(_ extra: [String]) async throws -> CommandResult {
                var result: CommandResult?
                for _ in 0..<10 {
                    let attempt = try runCommand("/usr/sbin/ip", ["netns", "exec", namespace(peer), "/usr/bin/iperf3", "-c", address, "-p", "5201", "-t", "4", "-J"] + extra,
                                             timeout: 30)
                    result = attempt
                    guard attempt.output.contains("the server is busy") else { return attempt }
                    try await Task.sleep(for: .milliseconds(500))
                }
                return result!
            }
            let into = try await measure([])
            let out = try await measure(["-R"])
            let ingress = try Self.megabits(into.output), egress = try Self.megabits(out.output)
            print("bandwidth: into the limited pod \(String(format: "%.2f", ingress)) Mbit/s, out of it \(String(format: "%.2f", egress)) Mbit/s")
            #expect(ingress <= 11 && ingress >= 5, "ingress \(ingress) Mbit/s")
            #expect(egress <= 11 && egress >= 5, "egress \(egress) Mbit/s")
        } catch {
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }
}
