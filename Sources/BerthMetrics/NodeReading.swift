import BerthCore
import Foundation

/// One node's `/stats/summary`, reduced to the cumulative counters and gauges the metrics API
/// and the history need.
public struct NodeReading: Sendable {
    public struct Container: Sendable {
        public var name: String
        public var cpuNanoseconds: Double
        public var memoryBytes: Double
    }

    public struct Pod: Sendable {
        public var namespace: String
        public var name: String
        public var containers: [Container]
        public var receivedBytes: Double?
        public var transmittedBytes: Double?
    }

    /// Seconds since the epoch when the reading was taken.
    public var time: Double
    public var node: String
    public var cpuNanoseconds: Double
    public var memoryBytes: Double
    public var receivedBytes: Double
    public var transmittedBytes: Double
    public var pods: [Pod]

    public init(summary: JSONValue, time: Double) {
        func number(_ value: JSONValue?) -> Double? {
            guard let value else { return nil }
            if case .number(let text) = value { return Double(text) }
            return value.stringValue.flatMap(Double.init)
        }
        self.time = time
        node = summary.value(at: ["node", "nodeName"])?.stringValue ?? ""
        cpuNanoseconds = number(summary.value(at: ["node", "cpu", "usageCoreNanoSeconds"])) ?? 0
        memoryBytes = number(summary.value(at: ["node", "memory", "workingSetBytes"])) ?? 0
        receivedBytes = number(summary.value(at: ["node", "network", "rxBytes"])) ?? 0
        transmittedBytes = number(summary.value(at: ["node", "network", "txBytes"])) ?? 0
        pods = (summary["pods"]?.arrayValue ?? []).map { pod in
            Pod(namespace: pod.value(at: ["podRef", "namespace"])?.stringValue ?? "", name: pod.value(at: ["podRef", "name"])?.stringValue ?? "",
                containers: (pod["containers"]?.arrayValue ?? []).map { container in
                    Container(name: container["name"]?.stringValue ?? "", cpuNanoseconds: number(container.value(at: ["cpu", "usageCoreNanoSeconds"])) ?? 0,
                              memoryBytes: number(container.value(at: ["memory", "workingSetBytes"])) ?? 0)
                },
                receivedBytes: number(pod.value(at: ["network", "rxBytes"])), transmittedBytes: number(pod.value(at: ["network", "txBytes"])))
        }
    }
}

/// Use over the interval between two readings of a node: CPU as cores (counter differences
/// over time), memory as the newer gauge, network as bytes per second. A pod or container
/// seen only in the newer reading has no rate yet (nothing is invented for it); a counter that
/// went down (a restarted container) counts from zero.
public struct NodeUsage: Sendable {
    public struct Pod: Sendable {
        public var namespace: String
        public var name: String
        public var containers: [(name: String, cpuCores: Double, memoryBytes: Double)]
        public var usage: UsagePoint
    }

    public var node: String
    public var time: Double
    public var window: Double
    public var usage: UsagePoint
    public var pods: [Pod]

    public init?(previous: NodeReading, current: NodeReading) {
        let window = current.time - previous.time
        guard window > 0 else { return nil }
        func rate(_ new: Double, _ old: Double?) -> Double {
            guard let old else { return 0 }
            return (new >= old ? new - old : new) / window
        }
        node = current.node
        time = current.time
        self.window = window
        usage = UsagePoint(cpuCores: rate(current.cpuNanoseconds, previous.cpuNanoseconds) / 1e9, memoryBytes: current.memoryBytes,
                           receiveBytesPerSecond: rate(current.receivedBytes, previous.receivedBytes),
                           transmitBytesPerSecond: rate(current.transmittedBytes, previous.transmittedBytes))
        var before: [String: NodeReading.Pod] = [:]
        for pod in previous.pods { before[pod.namespace + "/" + pod.name] = pod }
        pods = current.pods.compactMap { pod in
            guard let old = before[pod.namespace + "/" + pod.name] else { return nil }
            var containers: [(String, Double, Double)] = []
            for container in pod.containers {
                guard let oldContainer = old.containers.first(where: { $0.name == container.name }) else { continue }
                containers.append((container.name, rate(container.cpuNanoseconds, oldContainer.cpuNanoseconds) / 1e9, container.memoryBytes))
            }
            guard !containers.isEmpty else { return nil }
            let received = pod.receivedBytes.map { rate($0, old.receivedBytes) } ?? 0
            let transmitted = pod.transmittedBytes.map { rate($0, old.transmittedBytes) } ?? 0
            let total = UsagePoint(cpuCores: containers.reduce(0) { $0 + $1.1 }, memoryBytes: containers.reduce(0) { $0 + $1.2 },
                                   receiveBytesPerSecond: received, transmitBytesPerSecond: transmitted)
            return Pod(namespace: pod.namespace, name: pod.name, containers: containers, usage: total)
        }
    }
}
