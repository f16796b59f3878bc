import BerthClient
import BerthCore
import BerthRuntime
import BerthTestSupport
import Foundation
import Synchronization

/// A live `berth up` with its own node name, bridge and pod subnet, so node tests can run side by
/// side; `tearDown` deletes every pod through the API (the agent cleans the host), stops the
/// server, and then removes anything a failed test may have left (containers, mounts,
/// namespaces, the bridge).
final class NodeFixture: @unchecked Sendable {
    static let counter = Mutex(0)
    let server: BerthServerProcess
    let nodeName: String
    let bridge: String
    let index: Int

    static func start() async throws -> NodeFixture {
        let index = counter.withLock { value in
            value += 1
            return value
        } + Int(ProcessInfo.processInfo.processIdentifier % 20) * 10
        let fixture = NodeFixture(index: index % 200)
        try await fixture.server.start()
        try await fixture.waitForNode()
        return fixture
    }

    private init(index: Int) {
        self.index = index
        nodeName = "node-\(index)"
        bridge = "brt\(index)"
        server = BerthServerProcess(role: "up", extraArguments: [
            "--node-name", "node-\(index)", "--bridge-name", "brt\(index)", "--pod-subnet", "100.96.\(50 + index).0/24",
            "--container-log-max-size", "65536",
        ])
    }

    var runcRoot: String { server.dataDirectory + "/node/runtime/runc" }

    private var liveClient: APIClient?

    func api() throws -> APIClient {
        if let liveClient { return liveClient }
        let made = try server.client()
        liveClient = made
        return made
    }

    func waitForNode() async throws {
        for _ in 0..<100 {
            if let reply = try? await api().request(.GET, "/api/v1/nodes/\(nodeName)"), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BerthError(.timeout, "node \(nodeName) did not register")
    }

    /// Creates a pod bound to this node from YAML-free JSON.
    @discardableResult
    func createPod(_ pod: JSONValue) async throws -> Pod {
        var object = pod
        object.set(.string(nodeName), at: ["spec", "nodeName"])
        let reply = try await api().request(.POST, "/api/v1/namespaces/default/pods", body: JSONWriter.bytes(object)).checked()
        return try JSONCoding.decode(Pod.self, from: Data(reply.body))
    }

    func pod(_ name: String) async throws -> Pod {
        let reply = try await api().request(.GET, "/api/v1/namespaces/default/pods/\(name)").checked()
        return try JSONCoding.decode(Pod.self, from: Data(reply.body))
    }

    /// Polls the pod until `condition` holds (or fails after `timeout`).
    @discardableResult
    func waitForPod(_ name: String, timeout: Double = 30, _ what: String = "condition", _ condition: (Pod) -> Bool) async throws -> Pod {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Pod?
        while Date() < deadline {
            if let pod = try? await pod(name) {
                last = pod
                if condition(pod) { return pod }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let status = (try? last.map { String(decoding: try JSONCoding.encode($0.status), as: UTF8.self) }) ?? "none"
        throw BerthError(.timeout, "pod \(name): \(what) not reached in \(timeout)s; status: \(status ?? "")")
    }

    func logs(_ name: String, query: String = "") async throws -> String {
        let reply = try await api().request(.GET, "/api/v1/namespaces/default/pods/\(name)/log\(query.isEmpty ? "" : "?" + query)").checked()
        return String(decoding: reply.body, as: UTF8.self)
    }

    /// Deletes a pod and waits until the agent has finished and the object is gone.
    func deletePod(_ name: String, timeout: Double = 60) async throws {
        _ = try await api().request(.DELETE, "/api/v1/namespaces/default/pods/\(name)")
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let reply = try? await api().request(.GET, "/api/v1/namespaces/default/pods/\(name)"), reply.status == 404 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BerthError(.timeout, "pod \(name) was not deleted within \(timeout)s")
    }

    /// Runs a command in a pod's container through runc (the API's exec is tested separately).
    func runcExec(_ pod: Pod, container: String, _ command: [String]) throws -> CommandResult {
        let id = containerID(pod, container)
        return try runCommand("/usr/sbin/runc", ["--root", runcRoot, "exec", id] + command, timeout: 20)
    }

    func containerID(_ pod: Pod, _ container: String) -> String {
        let statuses = (pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? [])
        return String(statuses.first { $0.name == container }?.containerID?.dropFirst("berth://".count) ?? "")
    }

    func tearDown() async {
        if let list = try? await api().request(.GET, "/api/v1/namespaces/default/pods"), let value = try? list.json() {
            for item in value["items"]?.arrayValue ?? [] {
                if let name = item["metadata"]?["name"]?.stringValue {
                    _ = try? await api().request(.DELETE, "/api/v1/namespaces/default/pods/\(name)?gracePeriodSeconds=1")
                }
            }
            for _ in 0..<100 {
                let remaining = (try? await api().request(.GET, "/api/v1/namespaces/default/pods").json())?["items"]?.arrayValue?.count ?? 0
                if remaining == 0 { break }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        await liveClient?.shutdown()
        server.stop()
        // Whatever a failed test left behind.
        HostLeftovers.remove(dataDirectory: server.dataDirectory)
        HostLeftovers.removeBridge(bridge)
        server.cleanUp()
    }

    /// Host state a pod may leave behind: mounts under its directory, its netns, runc
    /// containers, cgroups, conmon processes.
    func leftovers(podUID: String) -> [String] {
        var found: [String] = []
        let mounts = ProcFile.read("/proc/mounts") ?? ""
        if mounts.contains(podUID) { found.append("mount") }
        if FileManager.default.fileExists(atPath: "/run/netns/berth-\(podUID.prefix(18))") { found.append("netns") }
        if let list = try? runCommand("/usr/sbin/runc", ["--root", runcRoot, "list", "-q"]), !list.output.isEmpty { found.append("runc: \(list.output)") }
        for controller in ["memory", "pids", "cpu", "unified"] where FileManager.default.fileExists(atPath: "/sys/fs/cgroup/\(controller)/berth/pod-\(podUID)") {
            found.append("cgroup \(controller)")
        }
        if FileManager.default.fileExists(atPath: server.dataDirectory + "/node/pods/\(podUID)") { found.append("pod directory") }
        if let processes = try? runCommand("/usr/bin/pgrep", ["-f", "conmon.*\(server.dataDirectory)"]), !processes.output.isEmpty {
            found.append("conmon \(processes.output)")
        }
        return found
    }
}

/// Runs `body` against a fresh node and always tears it down, also when the body fails.
func withNode(_ body: (NodeFixture) async throws -> Void) async throws {
    let node = try await NodeFixture.start()
    do {
        try await body(node)
    } catch {
        await node.tearDown()
        throw error
    }
    await node.tearDown()
}
