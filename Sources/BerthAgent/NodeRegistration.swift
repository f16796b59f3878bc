import BerthClient
import BerthCore
import BerthStorage
import BerthNetwork
import Foundation
import Logging
import Synchronization

/// Registers this host as a `Node` and keeps it alive: a `Lease` in `kube-node-lease` renewed
/// every heartbeat, and the Node's `Ready` condition refreshed, as the kubelet does.
struct NodeRegistration: Sendable {
    let configuration: AgentConfiguration
    let api: AgentAPI
    let logger: Logger
    /// Why the host network cannot carry pods, if it cannot (reported as NetworkUnavailable).
    let networkProblem = NetworkProblem()
    /// Memory, disk and pid pressure, judged by the eviction manager.
    let pressure: NodePressure

    init(configuration: AgentConfiguration, api: AgentAPI, logger: Logger) {
        self.configuration = configuration
        self.api = api
        self.logger = logger
        pressure = NodePressure(transition: configuration.evictionPressureTransition)
    }

    func register() async throws(BerthError) {
        let name = configuration.nodeName
        let status = nodeStatus()
        if try await api.getIfPresent(JSONValue.self, "/api/v1/nodes/\(name)") == nil {
            let node: JSONValue = [
                "apiVersion": "v1", "kind": "Node",
                "metadata": [
                    "name": .string(name),
                    "labels": [
                        "kubernetes.io/hostname": .string(name), "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": .string(Self.architecture), "node-role.kubernetes.io/berth": "",
                    ],
                ],
                "spec": configuration.podSubnet.map { ["podCIDR": .string($0), "podCIDRs": [.string($0)]] } ?? [:],
            ]
            do {
                try await api.create("/api/v1/nodes", node)
            } catch where error.code == .alreadyExists {}
        }
        try await api.mergePatch("/api/v1/nodes/\(name)/status", ["status": status])
        // How pod traffic reaches this node, for `berth trace`.
        // …and where its berth.dev/local volumes live, for the volume controller.
        var metadata: JSONValue = ["annotations": [PathTrace.modeAnnotation: .string(configuration.networkMode.rawValue),
                                                   VolumeBindingPlanner.localDirectoryAnnotation: .string(configuration.volumesDirectory)]]
        if configuration.ingressNode { metadata.set(.string("true"), at: ["labels", IngressProxy.label]) }
        if configuration.storageNode { metadata.set(.string("true"), at: ["labels", GlusterPlan.storageLabel]) }
        try await api.mergePatch("/api/v1/nodes/\(name)", ["metadata": metadata])
        logger.info("node registered", metadata: ["node": "\(name)"])
    }

    /// The node's pod subnet: the one fixed with `--pod-subnet` (recorded on the Node if it has
    /// none yet) or the one the control plane assigned, waited for.
    func podSubnet() async throws(BerthError) -> IPv4Network {
        let name = configuration.nodeName
        var patched = false
        while true {
            let node = try await api.getIfPresent(JSONValue.self, "/api/v1/nodes/\(name)")
            let current = node?["spec"]?["podCIDR"]?.stringValue ?? ""
            if let subnet = IPv4Network(current) {
                if let fixed = configuration.podSubnet, fixed != current {
                    logger.warning("the node already has another pod subnet; using it", metadata: ["requested": "\(fixed)", "podCIDR": "\(current)"])
                }
                return subnet
            }
            if let fixed = configuration.podSubnet, !patched {
                try await api.mergePatch("/api/v1/nodes/\(name)", ["spec": ["podCIDR": .string(fixed), "podCIDRs": [.string(fixed)]]])
                patched = true
                continue
            }
            do { try await Task.sleep(for: .milliseconds(200)) } catch { throw BerthError(.timeout, "stopped while waiting for a pod subnet") }
        }
    }

    /// Renews the lease (creating it the first time) and refreshes the Ready condition.
    func heartbeat() async throws(BerthError) {
        let name = configuration.nodeName
        let now = JSONValue.string(Self.microTime(Date()))
        let path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/\(name)"
        if try await api.getIfPresent(JSONValue.self, path) == nil {
            let lease: JSONValue = [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": ["name": .string(name), "namespace": "kube-node-lease"],
                "spec": ["holderIdentity": .string(name), "leaseDurationSeconds": 40, "renewTime": now, "acquireTime": now],
            ]
            do { try await api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease) } catch where error.code == .alreadyExists {}
        } else {
            try await api.mergePatch(path, ["spec": ["renewTime": now, "holderIdentity": .string(name)]])
        }
        try await api.mergePatch("/api/v1/nodes/\(name)/status", ["status": ["conditions": conditions()]])
    }

    func nodeStatus() -> JSONValue {
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory
        let kibibytes = memory / 1024
        let capacity: JSONValue = [
            "cpu": .string(String(cpus)), "memory": .string("\(kibibytes)Ki"),
            "pods": .string(String(configuration.maxPods)), "ephemeral-storage": .string(Self.diskCapacity(configuration.dataDirectory)),
        ]
        // Keep 100m CPU and 256 MiB for the system, as small clusters usually reserve.
        let allocatable: JSONValue = [
            "cpu": .string("\(max(100, cpus * 1000 - 100))m"), "memory": .string("\(max(0, Int64(kibibytes) - 262_144))Ki"),
            "pods": .string(String(configuration.maxPods)), "ephemeral-storage": capacity["ephemeral-storage"] ?? "0",
        ]
        return [
            "capacity": capacity, "allocatable": allocatable, "conditions": conditions(),
            "addresses": [
                ["type": "InternalIP", "address": .string(configuration.nodeAddress)],
                ["type": "Hostname", "address": .string(configuration.nodeName)],
            ],
            "daemonEndpoints": ["kubeletEndpoint": ["Port": 10250]],
            "nodeInfo": [
                "machineID": .string(Self.read("/etc/machine-id")), "systemUUID": .string(Self.read("/sys/class/dmi/id/product_uuid")),
                "bootID": .string(Self.read("/proc/sys/kernel/random/boot_id")), "kernelVersion": .string(Self.kernelVersion),
                "osImage": .string(Self.osImage), "containerRuntimeVersion": .string("runc://\(Self.runcVersion)"),
                "kubeletVersion": .string("v1.33.0-berth.\(BerthVersion.current)"), "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": .string(Self.architecture),
            ],
        ]
    }

    func conditions() -> JSONValue {
        let now = JSONValue.string(TableCells.formatTimestamp(Date()))
        func condition(_ type: String, _ status: String, _ reason: String, _ message: String) -> JSONValue {
            ["type": .string(type), "status": .string(status), "reason": .string(reason), "message": .string(message),
             "lastHeartbeatTime": now, "lastTransitionTime": now]
        }
        // Judged by the eviction manager against the hard thresholds (`--eviction-hard`).
        func pressureCondition(_ type: String, _ reason: String, _ calm: (String, String)) -> JSONValue {
            let (pressure, message) = self.pressure.current(type)
            return pressure ? condition(type, "True", reason, message) : condition(type, "False", calm.0, calm.1)
        }
        let memory = pressureCondition("MemoryPressure", "AgentHasInsufficientMemory", ("AgentHasSufficientMemory", "agent has sufficient memory available"))
        let disk = pressureCondition("DiskPressure", "AgentHasDiskPressure", ("AgentHasNoDiskPressure", "agent has no disk pressure"))
        let pids = pressureCondition("PIDPressure", "AgentHasInsufficientPID", ("AgentHasSufficientPID", "agent has sufficient PID available"))
        if let problem = networkProblem.current {
            return [
                condition("Ready", "False", "NetworkPluginNotReady", "network is not ready: \(problem)"),
                condition("NetworkUnavailable", "True", "NetworkSetupFailed", problem),
                memory, disk, pids,
            ]
        }
        return [
            condition("Ready", "True", "BerthAgentReady", "berth agent is posting ready status"),
            condition("NetworkUnavailable", "False", "RouteCreated", "berth agent set up the host network"),
            memory, disk, pids,
        ]
    }

    static func microTime(_ date: Date) -> String {
        RFC3339.microseconds(date)
    }

    static func read(_ path: String) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var kernelVersion: String { read("/proc/sys/kernel/osrelease") }

    static var osImage: String {
        for line in read("/etc/os-release").split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            return String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return "Linux"
    }

    static var architecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "amd64"
        #endif
    }

    static let runcVersion: String = {
        let version = read("/usr/share/doc/runc/version")
        return version.isEmpty ? "1" : version
    }()

    static func diskCapacity(_ path: String) -> String {
        guard let attributes = try? FileManager.default.attributesOfFileSystem(forPath: path),
              let size = attributes[.systemSize] as? NSNumber else { return "0" }
        return "\(size.int64Value / 1024)Ki"
    }
}

/// The host network's failure, shared by the set-up that finds it and the heartbeat that reports it.
final class NetworkProblem: Sendable {
    private let state = Mutex<String?>(nil)
    var current: String? { state.withLock { $0 } }
    func set(_ problem: String?) { state.withLock { $0 = problem } }
}
