import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth agent --simulate N` against a real control plane: the nodes register and renew, the
/// scheduler spreads a Deployment over them, their pods report Running, a GC'd Deployment's pods
/// go, and a stopped simulator's nodes turn NotReady.
@Suite("Simulated nodes")
struct SimulatedNodesTests {
    @Test("twelve simulated nodes take a 36-replica Deployment, three pods each, and go NotReady when stopped")
    func simulatedCluster() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-sim-\(UUID().uuidString)").path
        let simulator = Process()
        defer {
            if simulator.isRunning { kill(simulator.processIdentifier, SIGKILL); simulator.waitUntilExit() }
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        let token = try runCommand(BerthServerProcess.binary, ["token", "create", "--kubeconfig", server.kubeconfigPath])
        let hash = try #require(token.error.range(of: "sha256:[0-9a-f]{64}", options: .regularExpression).map { String(token.error[$0]) })
        simulator.executableURL = URL(fileURLWithPath: BerthServerProcess.binary)
        simulator.arguments = ["agent", "--simulate", "12", "--node-name", "sim", "--join", "https://127.0.0.1:\(server.port)",
                               "--token", token.output.trimmingCharacters(in: .whitespacesAndNewlines), "--ca-cert-hash", hash, "--data-dir", directory]
        simulator.standardOutput = FileHandle.nullDevice
        simulator.standardError = FileHandle.nullDevice
        try simulator.run()
        let client = try server.client()
        defer { Task { await client.shutdown() } }
        let kubectl = { (arguments: [String]) throws -> CommandResult in
            try runCommand("/usr/lib/google-cloud-sdk/bin/kubectl.1.33", ["--kubeconfig", server.kubeconfigPath] + arguments)
        }
        _ = try await waitFor("12 Ready nodes", timeout: 30) { () -> Int? in
            let ready = try kubectl(["get", "nodes", "--no-headers"]).output.split(separator: "\n").filter { $0.contains(" Ready ") }.count
            return ready == 12 ? ready : nil
        }
        #expect(try kubectl(["create", "deployment", "wide", "--image=berth/busybox:latest", "--replicas=36"]).status == 0)
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
        #expect(try kubectl(["delete", "deployment", "wide"]).status == 0)
        _ = try await waitFor("pods garbage-collected", timeout: 30) { () -> Bool? in
            let reply = try await client.request(.GET, "/api/v1/namespaces/default/pods").checked().json()
            return (reply["items"]?.arrayValue ?? []).isEmpty ? true : nil
        }
        kill(simulator.processIdentifier, SIGKILL)
        simulator.waitUntilExit()
        _ = try await waitFor("nodes NotReady after the grace", timeout: 30) { () -> Bool? in
            let lines = try kubectl(["get", "nodes", "--no-headers"]).output.split(separator: "\n")
            return lines.count == 12 && lines.allSatisfy { $0.contains("NotReady") } ? true : nil
        }
    }
}
