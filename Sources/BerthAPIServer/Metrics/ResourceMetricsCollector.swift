import BerthCore
import BerthMetrics
import BerthStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Reads every node's `/stats/summary` each `interval` (what metrics-server does, without its
/// separate deployment), turns consecutive readings into rates, serves the newest through
/// `metrics.k8s.io` and keeps the window in `UsageHistory` per pod, workload and node.
public final class ResourceMetricsCollector: Sendable {
    public let interval: Duration
    public let history: UsageHistory

    struct NodeState: Sendable {
        var reading: NodeReading
        var usage: NodeUsage?
    }

    /// A pod's labels and the workload it belongs to, from the last pass's pod list.
    struct PodFacts: Sendable {
        var labels: [String: String]
        var workload: String?
    }

    private let nodes = Mutex<[String: NodeState]>([:])
    private let pods = Mutex<[String: PodFacts]>([:])

    public init(interval: Duration = .seconds(3), historyWindow: Duration = .seconds(3600), historyResolution: Duration = .seconds(10),
                maximumSeries: Int = 100_000) {
        self.interval = interval
        history = UsageHistory(window: historyWindow, resolution: historyResolution, maximumSeries: maximumSeries)
    }

    /// The newest usage of every node that has two readings.
    func nodeUsages() -> [NodeUsage] { nodes.withLock { $0.values.compactMap(\.usage) }.sorted { $0.node < $1.node } }

    func podFacts(_ namespace: String, _ name: String) -> PodFacts? { pods.withLock { $0[namespace + "/" + name] } }

    /// One pass over all nodes (at most 16 asked at once; a node that does not answer keeps
    /// its last reading, which ages out of the metrics API after three intervals).
    func collect(storage: ObjectStorage, provider: any NodeStreamProvider, logger: Logger) async {
        guard let nodeNames = try? await storage.list(.node, namespace: nil, limit: 0, continueAfter: nil).kvs.compactMap({ kv in
            Self.readableNode(try? ObjectCodec.decode(kv))
        }) else { return }
        await refreshPods(storage: storage)
        var readings: [NodeReading] = []
        await withTaskGroup(of: NodeReading?.self) { group in
            var pending = nodeNames[...]
            func next() {
                guard let name = pending.popFirst() else { return }
                group.addTask {
                    guard let summary = try? await provider.statsSummary(node: name) else { return nil }
                    var reading = NodeReading(summary: summary, time: Date().timeIntervalSince1970)
                    if reading.node.isEmpty { reading.node = name }
                    return reading
                }
            }
            for _ in 0..<16 { next() }
            for await reading in group {
                if let reading { readings.append(reading) }
                next()
            }
        }
        for reading in readings { record(reading) }
        history.expire(now: Date().timeIntervalSince1970)
    }

    /// A node worth asking: Ready, and not one of `berth agent --simulate`'s unless its simulator
    /// serves an endpoint (`berth.dev/agent-endpoint`; without one, asking would wait for a
    /// connection to an address nobody serves).
    static func readableNode(_ node: JSONValue?) -> String? {
        guard let node, let name = node.value(at: ["metadata", "name"])?.stringValue else { return nil }
        if node.value(at: ["metadata", "labels", "berth.dev/simulated"])?.stringValue == "true",
           node.value(at: ["metadata", "annotations", "berth.dev/agent-endpoint"]) == nil { return nil }
        let ready = node.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue
        return ready == "True" ? name : nil
    }

    func record(_ reading: NodeReading) {
        let usage: NodeUsage? = nodes.withLock { nodes in
            let usage = nodes[reading.node].flatMap { NodeUsage(previous: $0.reading, current: reading) }
            nodes[reading.node] = NodeState(reading: reading, usage: usage ?? nodes[reading.node]?.usage)
            return usage
        }
        guard let usage else { return }
        history.record(SeriesKey(.node, name: usage.node), at: usage.time, usage.usage)
        var workloads: [SeriesKey: UsagePoint] = [:]
        let facts = pods.withLock { $0 }
        for pod in usage.pods {
            history.record(SeriesKey(.pod, namespace: pod.namespace, name: pod.name), at: usage.time, pod.usage)
            if let workload = facts[pod.namespace + "/" + pod.name]?.workload {
                let key = SeriesKey(.workload, namespace: pod.namespace, name: workload)
                workloads[key] = (workloads[key] ?? UsagePoint(cpuCores: 0, memoryBytes: 0)) + pod.usage
            }
        }
        for (key, point) in workloads { history.record(key, at: usage.time, point) }
    }

    private func refreshPods(storage: ObjectStorage) async {
        guard let kvs = try? await storage.list(.pod, namespace: nil, limit: 0, continueAfter: nil).kvs else { return }
        var facts: [String: PodFacts] = [:]
        for kv in kvs {
            guard let pod = try? ObjectCodec.decode(kv), let name = pod.value(at: ["metadata", "name"])?.stringValue,
                  let namespace = pod.value(at: ["metadata", "namespace"])?.stringValue else { continue }
            var labels: [String: String] = [:]
            for (key, value) in pod.value(at: ["metadata", "labels"])?.objectValue ?? [:] { labels[key] = value.stringValue }
            facts[namespace + "/" + name] = PodFacts(labels: labels, workload: Self.workload(of: pod, labels: labels))
        }
        pods.withLock { $0 = facts }
    }

    /// `Deployment/web` for a pod of ReplicaSet `web-6d4f` whose `pod-template-hash` is
    /// `6d4f`; otherwise the owning controller as `Kind/name`.
    static func workload(of pod: JSONValue, labels: [String: String]) -> String? {
        guard let owner = pod.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first(where: { $0["controller"] == .bool(true) }) ?? pod.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first,
              let kind = owner["kind"]?.stringValue, let name = owner["name"]?.stringValue else { return nil }
        if kind == "ReplicaSet", let hash = labels["pod-template-hash"], name.hasSuffix("-" + hash) {
            return "Deployment/" + name.dropLast(hash.count + 1)
        }
        return kind + "/" + name
    }

    /// Readings older than this are not served as current.
    var staleAfter: Double { 3 * (Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18) + 5 }
}

/// Runs the collector beside the HTTP server.
struct ResourceMetricsService: ServiceLifecycle.Service {
    let collector: ResourceMetricsCollector
    let server: APIServer

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let provider = server.nodeStreams.current {
                    await collector.collect(storage: server.storage, provider: provider, logger: server.logger)
                }
                try? await Task.sleep(for: collector.interval)
            }
        }
    }
}
