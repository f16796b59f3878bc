import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Synchronization

/// Three (or more) hosts on this machine: each host is a network namespace on an underlay bridge
/// in 100.72.K.0/24, running its own `berth agent` that joined with a bootstrap token; the
/// control plane (`berth server`) listens on the bridge address. Teardown removes every pod,
/// stops the processes it started (by PID), and deletes what a failed test may have left.
final class ClusterFixture: @unchecked Sendable {
    static let counter = Mutex(0)
    let index: Int
    let server: BerthServerProcess
    let bridge: String
    /// `--network-mode` of every agent: routed, vxlan or underlay.
    let networkMode: String
    /// Arguments one host's agent gets besides the common ones (its number from 1, and the
    /// underlay's first three octets).
    let agentArguments: @Sendable (Int, String) -> [String]
    var hosts: [Host] = []
    private(set) var token = ""
    private(set) var caHash = ""

    final class Host: @unchecked Sendable {
        let name: String
        let namespace: String
        let address: String
        let dataDirectory: String
        var process: Process?
        let logPath: String

        init(name: String, namespace: String, address: String, dataDirectory: String) {
            self.name = name
            self.namespace = namespace
            self.address = address
            self.dataDirectory = dataDirectory
            logPath = dataDirectory + ".log"
        }

        var runcRoot: String { dataDirectory + "/node/runtime/runc" }
    }

    var underlayPrefix: String { "100.72.\(index)" }

    static func start(hosts count: Int = 3, networkMode: String = "routed", agentArguments: @escaping @Sendable (Int, String) -> [String] = { _, _ in [] }) async throws -> ClusterFixture {
        let index = counter.withLock { value in
            value += 1
            return value
        } + Int(ProcessInfo.processInfo.processIdentifier % 40) * 5
        let fixture = ClusterFixture(index: index % 200 + 1, networkMode: networkMode, agentArguments: agentArguments)
        do {
            try fixture.makeUnderlay(hosts: count)
            try await fixture.server.start()
            try await fixture.createToken()
            for host in fixture.hosts { try fixture.startAgent(host) }
            for host in fixture.hosts { try await fixture.waitForNode(host.name, ready: true) }
        } catch {
            await fixture.tearDown()
            throw error
        }
        return fixture
    }

    private init(index: Int, networkMode: String, agentArguments: @escaping @Sendable (Int, String) -> [String]) {
        self.index = index
        self.networkMode = networkMode
        self.agentArguments = agentArguments
        bridge = "brund\(index)"
        server = BerthServerProcess(role: "server", host: "100.72.\(index).254")
    }

    // MARK: underlay

    func makeUnderlay(hosts count: Int) throws {
        try sh("ip link add \(bridge) type bridge && ip addr add \(underlayPrefix).254/24 dev \(bridge) && ip link set \(bridge) up")
        for number in 1...count {
            let name = "h\(index)-\(number)"
            let namespace = "berth-host-\(index)-\(number)"
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cluster-\(UUID().uuidString)").path
            // Pod subnets come from the control plane; each host's bridge and routes live in the
            // host's own namespace, so concurrent clusters may use the same ones.
            let host = Host(name: name, namespace: namespace, address: "\(underlayPrefix).\(number)", dataDirectory: directory)
            hosts.append(host)
            let veth = "vu\(index)x\(number)"
            try sh("""
                ip netns add \(namespace) && ip link add \(veth) type veth peer name eth0 netns \(namespace) && \
                ip link set \(veth) master \(bridge) up && \
                ip -n \(namespace) addr add \(host.address)/24 dev eth0 && ip -n \(namespace) link set eth0 up && ip -n \(namespace) link set lo up
                """)
        }
    }

    func createToken() async throws {
        let result = try runCommand(BerthServerProcess.binary, ["token", "create", "--kubeconfig", server.kubeconfigPath])
        guard result.status == 0 else { throw BerthError(.internalError, "berth token create failed: \(result.error)") }
        token = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let range = result.error.range(of: "sha256:[0-9a-f]{64}", options: .regularExpression) else {
            throw BerthError(.internalError, "no CA hash in: \(result.error)")
        }
        caHash = String(result.error[range])
    }

    /// Starts the host's agent in its network namespace. `nsenter --net` switches only the
    /// network namespace (mounts stay shared with the machine, as on a real host) and execs the
    /// agent, so the PID is the agent's own.
    func startAgent(_ host: Host, token: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=/run/netns/\(host.namespace)", BerthServerProcess.binary, "agent",
                             "--join", "https://\(server.host):\(server.port)", "--token", token ?? self.token, "--ca-cert-hash", caHash,
                             "--data-dir", host.dataDirectory, "--node-name", host.name, "--node-address", host.address,
                             "--network-mode", networkMode] + agentArguments((hosts.firstIndex { $0 === host } ?? 0) + 1, underlayPrefix)
        if !FileManager.default.fileExists(atPath: host.logPath) { FileManager.default.createFile(atPath: host.logPath, contents: nil) }
        let log = FileHandle(forWritingAtPath: host.logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        host.process = process
    }

    /// A host dies: its agent and every container it ran are killed at once.
    func killHost(_ host: Host) {
        if let process = host.process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let ids = (try? runCommand("/usr/sbin/runc", ["--root", host.runcRoot, "list", "-q"]).output) ?? ""
        for id in ids.split(separator: "\n") { _ = try? runCommand("/usr/sbin/runc", ["--root", host.runcRoot, "kill", String(id), "KILL"]) }
    }

    func stopAgent(_ host: Host) {
        guard let process = host.process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<100 where process.isRunning { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    // MARK: API helpers

    private var liveClient: APIClient?

    func api() throws -> APIClient {
        if let liveClient { return liveClient }
        let made = try server.client()
        liveClient = made
        return made
    }

    @discardableResult
    func kubectl(_ arguments: [String], input: String? = nil, timeout: TimeInterval = 120) throws -> CommandResult {
        try runCommand("/usr/lib/google-cloud-sdk/bin/kubectl.1.33", ["--kubeconfig", server.kubeconfigPath] + arguments, input: input, timeout: timeout)
    }

    func waitForNode(_ name: String, ready: Bool, timeout: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let node = try? await api().request(.GET, "/api/v1/nodes/\(name)").json(),
               let conditions = node["status"]?["conditions"]?.arrayValue,
               (conditions.first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue == "True") == ready {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BerthError(.timeout, "node \(name) did not become \(ready ? "Ready" : "NotReady") in \(timeout)s")
    }

    func pods(selector: String) async throws -> [Pod] {
        let reply = try await api().request(.GET, "/api/v1/namespaces/default/pods?labelSelector=\(selector)").checked()
        return try (reply.json()["items"]?.arrayValue ?? []).map { try $0.decode(Pod.self) }
    }

    /// Live (not terminating) Running pods per node.
    func runningByNode(selector: String) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for pod in try await pods(selector: selector) where pod.metadata.deletionTimestamp == nil && pod.status?.phase == "Running" {
            counts[pod.spec?.nodeName ?? "", default: 0] += 1
        }
        return counts
    }

    /// The berth CLI against this cluster's control plane.
    func berth(_ arguments: [String], timeout: TimeInterval = 60) throws -> CommandResult {
        try runCommand(BerthServerProcess.binary, arguments + ["--kubeconfig", server.kubeconfigPath], timeout: timeout)
    }

    func apply(_ yaml: String) throws {
        let result = try runCommand("/usr/lib/google-cloud-sdk/bin/kubectl.1.33", ["--kubeconfig", server.kubeconfigPath, "apply", "-f", "-"], input: yaml)
        guard result.status == 0 else { throw BerthError(.internalError, "kubectl apply failed: \(result.error)") }
    }

    // MARK: teardown

    func tearDown() async {
        if let client = try? api() {
            for kind in ["apis/apps/v1/namespaces/default/deployments", "apis/apps/v1/namespaces/default/daemonsets", "api/v1/namespaces/default/pods"] {
                _ = try? await client.request(.DELETE, "/\(kind)?gracePeriodSeconds=1")
            }
            // Pods leave only through a live agent.
            for _ in 0..<100 where hosts.contains(where: { $0.process?.isRunning == true }) {
                let remaining = (try? await client.request(.GET, "/api/v1/namespaces/default/pods").json())?["items"]?.arrayValue?.count ?? 0
                if remaining == 0 { break }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        await liveClient?.shutdown()
        for host in hosts { stopAgent(host) }
        server.stop()
        for host in hosts { Self.removeLeftovers(host) }
        for host in hosts { _ = try? runCommand("/usr/sbin/ip", ["netns", "delete", host.namespace]) }
        _ = try? runCommand("/usr/sbin/ip", ["link", "delete", bridge])
        server.cleanUp()
    }

    static func removeLeftovers(_ host: Host) {
        HostLeftovers.remove(dataDirectory: host.dataDirectory)
        try? FileManager.default.removeItem(atPath: host.dataDirectory)
        try? FileManager.default.removeItem(atPath: host.logPath)
    }

    @discardableResult
    func sh(_ script: String) throws -> CommandResult {
        let result = try runCommand("/bin/sh", ["-c", script])
        guard result.status == 0 else { throw BerthError(.internalError, "\(script): \(result.error)") }
        return result
    }
}
