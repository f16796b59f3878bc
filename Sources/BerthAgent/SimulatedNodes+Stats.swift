import BerthCore
import BerthMetrics
import BerthRuntime
import Foundation
import Synchronization

/// What the simulated nodes' endpoint serves: the kubelet's `/stats/summary` and the three
/// metrics paths, per node, for the pods the simulator runs there. Usage is synthetic but
/// moves as real usage does (CPU and network counters grow with each pod's age, memory is
/// steady per pod), so the metrics pipeline, `kubectl top`, the history and a Prometheus
/// scraping 1,000 nodes through the API server's proxy can be measured without containers.
extension SimulatedNodes {
    /// Cores each simulated container uses, and bytes per second each pod receives and sends.
    static let containerCores = 0.005
    static let podNetworkBytesPerSecond = 1_000.0

    public func statsSummary(node: String, now: Date = Date()) -> JSONValue? {
        guard isSimulated(node) else { return nil }
        let stamp = JSONValue.string(TableCells.formatTimestamp(now))
        var pods: [JSONValue] = []
        var nodeCPU: UInt64 = 0, nodeMemory: UInt64 = 0
        for pod in self.pods.on(node) {
            let samples = containerSamples(pod, now: now)
            let cpu = samples.reduce(0) { $0 + $1.usage.cpuNanoseconds }
            let memory = samples.reduce(0) { $0 + $1.usage.memoryWorkingSetBytes }
            nodeCPU += cpu
            nodeMemory += memory
            let network = networkSample(pod, now: now)
            pods.append([
                "podRef": ["name": .string(pod.name), "namespace": .string(pod.namespace), "uid": .string(pod.uid)],
                "containers": .array(samples.map { sample in [
                    "name": .string(sample.container), "startTime": .string(TableCells.formatTimestamp(pod.started)),
                    "cpu": ["time": stamp, "usageCoreNanoSeconds": .number(String(sample.usage.cpuNanoseconds))],
                    "memory": ["time": stamp, "workingSetBytes": .number(String(sample.usage.memoryWorkingSetBytes)),
                               "usageBytes": .number(String(sample.usage.memoryUsageBytes))],
                ] }),
                "cpu": ["time": stamp, "usageCoreNanoSeconds": .number(String(cpu))],
                "memory": ["time": stamp, "workingSetBytes": .number(String(memory))],
                "network": ["time": stamp, "name": "eth0", "rxBytes": .number(String(network.received)), "txBytes": .number(String(network.transmitted))],
            ])
        }
        let nodeSummary: JSONValue = [
            "nodeName": .string(node), "startTime": .string(TableCells.formatTimestamp(startedAt)),
            "cpu": ["time": stamp, "usageCoreNanoSeconds": .number(String(nodeCPU))],
            "memory": ["time": stamp, "workingSetBytes": .number(String(nodeMemory + Self.nodeBaseMemory)),
                       "availableBytes": .number(String(Self.nodeMemory - nodeMemory - Self.nodeBaseMemory))],
        ]
        return ["node": nodeSummary, "pods": .array(pods)]
    }

    /// `metrics`, `metrics/cadvisor` or `metrics/resource` of one simulated node; nil for
    /// another path or a node this simulator does not run.
    public func metrics(node: String, path: String, format: ExpositionFormat, now: Date = Date()) -> [UInt8]? {
        guard isSimulated(node) else { return nil }
        let pods = self.pods.on(node)
        let containers = pods.flatMap { containerSamples($0, now: now) }
        var writer = ExpositionWriter(format: format)
        switch path {
        case "metrics":
            writer.family("kubelet_running_pods", .gauge, help: "Number of pods that have a running pod sandbox")
            writer.sample("kubelet_running_pods", [:], Double(pods.count))
            writer.family("kubelet_running_containers", .gauge, help: "Number of containers currently running")
            writer.sample("kubelet_running_containers", ["container_state": "running"], Double(containers.count))
        case "metrics/cadvisor":
            CadvisorExposition.render(containers: containers, networks: pods.map { networkSample($0, now: now) }, cores: 32,
                                      memoryBytes: Self.nodeMemory, into: &writer)
        case "metrics/resource":
            writer.family("node_cpu_usage_seconds_total", .counter, help: "Cumulative cpu time consumed by the node in core-seconds")
            writer.sample("node_cpu_usage_seconds_total", [:], containers.reduce(0) { $0 + Double($1.usage.cpuNanoseconds) / 1e9 })
            writer.family("node_memory_working_set_bytes", .gauge, help: "Current working set of the node in bytes")
            writer.sample("node_memory_working_set_bytes", [:], Double(containers.reduce(Self.nodeBaseMemory) { $0 + $1.usage.memoryWorkingSetBytes }))
            writer.family("pod_cpu_usage_seconds_total", .counter, help: "Cumulative cpu time consumed by the pod in core-seconds")
            for pod in pods {
                let cpu = containerSamples(pod, now: now).reduce(0) { $0 + Double($1.usage.cpuNanoseconds) / 1e9 }
                writer.sample("pod_cpu_usage_seconds_total", ["namespace": pod.namespace, "pod": pod.name], cpu)
            }
        default:
            return nil
        }
        writer.finish()
        return writer.bytes
    }

    static let nodeMemory: UInt64 = 128 << 30
    static let nodeBaseMemory: UInt64 = 512 << 20

    func isSimulated(_ node: String) -> Bool {
        guard node.hasPrefix(prefix + "-"), let index = Int(node.dropFirst(prefix.count + 1)) else { return false }
        return (0..<count).contains(index)
    }

    private func containerSamples(_ pod: SimulatedPod, now: Date) -> [ContainerSample] {
        let age = max(0, now.timeIntervalSince(pod.started))
        // A steady working set per pod (8–24 MiB, from its uid) so pods differ as real ones do.
        let memory = UInt64(8 << 20) + UInt64(pod.uid.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xffff }) * 256
        return pod.containers.map { name in
            let usage = ContainerUsage(cpuNanoseconds: UInt64(age * Self.containerCores * 1e9), memoryWorkingSetBytes: memory,
                                       memoryUsageBytes: memory + (4 << 20), pids: 1)
            return ContainerSample(namespace: pod.namespace, pod: pod.name, container: name, id: "sim-\(pod.uid)-\(name)", usage: usage, filesystemBytes: 4096)
        }
    }

    private func networkSample(_ pod: SimulatedPod, now: Date) -> PodNetworkSample {
        let bytes = Int64(max(0, now.timeIntervalSince(pod.started)) * Self.podNetworkBytesPerSecond)
        return PodNetworkSample(namespace: pod.namespace, pod: pod.name, received: bytes, transmitted: bytes / 2)
    }
}

/// A pod the simulator reports Running.
struct SimulatedPod: Sendable {
    var namespace: String, name: String, uid: String
    var containers: [String]
    var started: Date
}

/// The pods each simulated node runs, as the simulator last answered them.
final class SimulatedPodTable: Sendable {
    private let state = Mutex<[String: [String: SimulatedPod]]>([:])

    func add(node: String, _ pod: SimulatedPod) {
        state.withLock { state in
            if state[node]?[pod.uid] == nil { state[node, default: [:]][pod.uid] = pod }
        }
    }

    func remove(uid: String) {
        state.withLock { state in
            for node in state.keys where state[node]?.removeValue(forKey: uid) != nil { return }
        }
    }

    func on(_ node: String) -> [SimulatedPod] {
        state.withLock { ($0[node] ?? [:]).values.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) } }
    }
}
