import BerthClient
import Foundation

/// `berth agent --simulate N` joined to a running test server with a fresh bootstrap token;
/// stopped by PID.
public final class SimulatedNodesProcess: @unchecked Sendable {
    public let process = Process()
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-sim-\(UUID().uuidString)").path

    public init() {}

    /// Nodes are named `PREFIX-0` … `PREFIX-(count-1)`.
    public func start(count: Int, prefix: String, server: BerthServerProcess) throws {
        let token = try runCommand(BerthServerProcess.binary, ["token", "create", "--kubeconfig", server.kubeconfigPath])
        guard let range = token.error.range(of: "sha256:[0-9a-f]{64}", options: .regularExpression) else {
            throw SimulatorError(message: "berth token create printed no CA hash: \(token.error)")
        }
        process.executableURL = URL(fileURLWithPath: BerthServerProcess.binary)
        process.arguments = ["agent", "--simulate", String(count), "--node-name", prefix, "--join", "https://127.0.0.1:\(server.port)",
                             "--token", token.output.trimmingCharacters(in: .whitespacesAndNewlines), "--ca-cert-hash", String(token.error[range]),
                             "--data-dir", dataDirectory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    public func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public func cleanUp() {
        kill9()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }
}

struct SimulatorError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A `berth server` with N simulated nodes joined and Ready, torn down when the body ends.
public struct SimulatedCluster: Sendable {
    public let server: BerthServerProcess
    public let simulator: SimulatedNodesProcess
    public let client: APIClient

    public static func run(nodes: Int, prefix: String, _ body: (SimulatedCluster) async throws -> Void) async throws {
        let server = BerthServerProcess(role: "server")
        let simulator = SimulatedNodesProcess()
        defer {
            simulator.cleanUp()
            server.cleanUp()
        }
        try await server.start()
        try simulator.start(count: nodes, prefix: prefix, server: server)
        let cluster = SimulatedCluster(server: server, simulator: simulator, client: try server.client())
        defer { Task { [client = cluster.client] in await client.shutdown() } }
        // Generous: on a cold start (a fresh build, binaries not yet in the page cache, many
        // servers starting at once) joining took more than 30 s once in CI.
        _ = try await waitFor("\(nodes) Ready nodes", timeout: 90) { () -> Bool? in
            let lines = try cluster.kubectl(["get", "nodes", "--no-headers"]).output.split(separator: "\n")
            return lines.filter { $0.contains(" Ready ") }.count == nodes ? true : nil
        }
        try await body(cluster)
    }

    /// kubectl 1.33 with the cluster's admin kubeconfig.
    public func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
        try runCommand("/usr/lib/google-cloud-sdk/bin/kubectl.1.33", ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
    }
}
