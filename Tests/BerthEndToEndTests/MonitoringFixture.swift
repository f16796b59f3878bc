import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth up` on its own bridge and ranges, with the clients the monitoring tests use (the
/// registry tests' fixture: curl, kubectl 1.33), cleaned up with its pods and host leftovers.
final class MonitoringFixture: @unchecked Sendable {
    static let bridge = "brmetr"
    let base: RegistryFixture

    init(extraArguments: [String] = []) {
        base = RegistryFixture(role: "up", extraArguments: ["--node-name", "metrics-node", "--bridge-name", Self.bridge, "--pod-subnet", "100.96.62.0/24",
                                                            "--service-cidr", "100.68.0.0/16"] + extraArguments)
    }

    func start() async throws { try await base.start() }

    func stop() {
        for _ in 0..<30 {
            _ = try? base.kubectl(["delete", "deployment,pods", "--all", "-n", "default", "--grace-period=1", "--wait=true", "--timeout=30s"])
            if (try? base.kubectl(["get", "pods", "-o", "name"]).output.isEmpty) ?? true { break }
        }
        base.server.stop()
        HostLeftovers.remove(dataDirectory: base.server.dataDirectory)
        base.cleanUp()
        HostLeftovers.removeBridge(Self.bridge)
    }

    // The clients run off Swift's cooperative pool: a command waited for on it (kubectl polled
    // for minutes) holds one of this machine's two pool threads, and other suites' async work
    // starved behind it (a registry pull timed out in a full run).

    func kubectl(_ arguments: [String], input: String? = nil) async throws -> CommandResult {
        try await Self.offPool { [base] in try base.kubectl(arguments, input: input) }
    }

    func curl(_ method: String, _ path: String, as credential: RegistryFixture.Credential = .admin, headers: [String] = []) async throws -> RegistryFixture.Reply {
        try await Self.offPool { [base] in try base.curl(method, path, as: credential, headers: headers) }
    }

    /// The berth CLI, against this cluster unless `local` (commands that ask no server).
    func berth(_ arguments: [String], local: Bool = false) async throws -> CommandResult {
        let kubeconfig = base.server.kubeconfigPath
        return try await Self.run(BerthServerProcess.binary, arguments + (local ? [] : ["--kubeconfig", kubeconfig]))
    }

    static func run(_ executable: String, _ arguments: [String], input: String? = nil, timeout: TimeInterval = 60) async throws -> CommandResult {
        try await offPool { try runCommand(executable, arguments, input: input, timeout: timeout) }
    }

    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingThreads.shared.result(body)
    }

    /// `promtool check metrics` on a body: nil when it passes, else what it said.
    static func promtoolProblems(_ body: [UInt8]) async throws -> String? {
        let result = try await run("/usr/bin/promtool", ["check", "metrics"], input: String(decoding: body, as: UTF8.self))
        return result.status == 0 ? nil : result.output + result.error
    }

    /// A Deployment of busybox pods that burn CPU until `/tmp/stop` exists in them.
    static func burner(_ name: String, replicas: Int = 1) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(name), namespace: default}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: c
                image: berth/busybox:latest
                command: [sh, -c, "while [ ! -f /tmp/stop ]; do :; done; exec sleep 3600"]
                resources: {requests: {cpu: 100m}, limits: {cpu: 100m}}
        """
    }
}

/// A long-running helper (Prometheus, Alertmanager) started by a test, stopped by its PID.
final class HelperProcess: @unchecked Sendable {
    let process = Process()
    let log: String

    init(_ executable: String, _ arguments: [String], log: String) throws {
        self.log = log
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        for _ in 0..<50 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}
