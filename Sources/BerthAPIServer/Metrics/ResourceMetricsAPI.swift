import BerthCore
import BerthMetrics
import Foundation
import Hummingbird

/// `metrics.k8s.io/v1beta1` (NodeMetrics, PodMetrics; what `kubectl top` and the autoscaler
/// read) from the collector's newest readings, and the usage history at
/// `/berth/v1/history/…` (what `berth top --since` and the console's charts read).
extension APIServer {
    static let resourceMetricsGroup = "metrics.k8s.io"

    /// `/apis/metrics.k8s.io/v1beta1/…` split: `nodes[/NAME]`, `pods`, `namespaces/NS/pods[/NAME]`.
    struct MetricsPath {
        var descriptor: ResourceDescriptor
        var namespace: String?
        var name: String?

        init?(path: String) {
            let segments = path.split(separator: "/").map(String.init)
            guard segments.count >= 4, segments[0] == "apis", segments[1] == resourceMetricsGroup, segments[2] == "v1beta1" else { return nil }
            let rest = Array(segments.dropFirst(3))
            switch rest.count {
            case 1 where rest[0] == "nodes" || rest[0] == "pods":
                descriptor = rest[0] == "nodes" ? .nodeMetrics : .podMetrics
            case 2 where rest[0] == "nodes":
                descriptor = .nodeMetrics
                name = rest[1]
            case 3 where rest[0] == "namespaces" && rest[2] == "pods", 4 where rest[0] == "namespaces" && rest[2] == "pods":
                descriptor = .podMetrics
                namespace = rest[1]
                name = rest.count == 4 ? rest[3] : nil
            default:
                return nil
            }
        }
    }

    static var resourceMetricsMount: Mount {
        Mount(name: "metrics.k8s.io", matches: { $0 == "/apis/metrics.k8s.io" || $0.hasPrefix("/apis/metrics.k8s.io/") }, target: { request, _ in
            MetricsPath(path: request.uri.path).map { ResourceTarget(descriptor: $0.descriptor, namespace: $0.namespace, name: $0.name) }
        }) { server, request, _, _ throws(BerthError) in
            guard request.method == .get else { throw BerthError(.methodNotAllowed, "metrics.k8s.io is read-only") }
            let path = request.uri.path
            if path == "/apis/metrics.k8s.io" || path == "/apis/metrics.k8s.io/" { return Responses.json(Self.resourceMetricsGroupDocument(kind: "APIGroup")) }
            if path == "/apis/metrics.k8s.io/v1beta1" || path == "/apis/metrics.k8s.io/v1beta1/" { return Responses.json(Self.resourceMetricsResources) }
            guard let target = MetricsPath(path: path) else { throw BerthError(.notFound, "the server could not find the requested resource") }
            let query = QueryParameters(request.uri.query)
            let selector = try LabelSelector(parsing: query["labelSelector"] ?? "")
            return Responses.json(try await server.resourceMetrics(target, selector: selector))
        }
    }

    static func resourceMetricsGroupDocument(kind: String?) -> JSONValue {
        let version: JSONValue = ["groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"]
        var document: JSONValue = ["name": "metrics.k8s.io", "versions": [version], "preferredVersion": version]
        if let kind {
            document["kind"] = .string(kind)
            document["apiVersion"] = "v1"
        }
        return document
    }

    static let resourceMetricsResources: JSONValue = [
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "metrics.k8s.io/v1beta1",
        "resources": [
            ["name": "nodes", "singularName": "", "namespaced": false, "kind": "NodeMetrics", "verbs": ["get", "list"]],
            ["name": "pods", "singularName": "", "namespaced": true, "kind": "PodMetrics", "verbs": ["get", "list"]],
        ],
    ]

    func resourceMetrics(_ target: MetricsPath, selector: LabelSelector) async throws(BerthError) -> JSONValue {
        let now = Date().timeIntervalSince1970
        let fresh = metricsCollector.nodeUsages().filter { now - $0.time <= metricsCollector.staleAfter }
        func stamp(_ time: Double) -> JSONValue { .string(RFC3339.seconds(Date(timeIntervalSince1970: time))) }
        func window(_ seconds: Double) -> JSONValue { .string(String(format: "%.3fs", seconds)) }
        func cpu(_ cores: Double) -> JSONValue { .string(Quantity(nanos: Int128(max(0, cores) * 1e9)).description) }
        func memory(_ bytes: Double) -> JSONValue { .string("\(Int64(max(0, bytes) / 1024))Ki") }
        if target.descriptor.kind == "NodeMetrics" {
            var items: [JSONValue] = []
            for usage in fresh where target.name == nil || target.name == usage.node {
                guard let node = try? await storage.get(.node, namespace: nil, name: usage.node),
                      selector.matches(node.value(at: ["metadata", "labels"])?.objectValue?.compactMapValues(\.stringValue)) else { continue }
                items.append(["metadata": ["name": .string(usage.node), "creationTimestamp": stamp(now), "labels": node.value(at: ["metadata", "labels"]) ?? [:]],
                              "timestamp": stamp(usage.time - usage.window), "window": window(usage.window),
                              "usage": ["cpu": cpu(usage.usage.cpuCores), "memory": memory(usage.usage.memoryBytes)]])
            }
            if let name = target.name {
                guard var item = items.first else { throw BerthError(.notFound, "nodemetrics.metrics.k8s.io \"\(name)\" not found") }
                item["kind"] = "NodeMetrics"
                item["apiVersion"] = "metrics.k8s.io/v1beta1"
                return item
            }
            return ["kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": [:], "items": .array(items)]
        }
        var items: [JSONValue] = []
        for usage in fresh {
            for pod in usage.pods where (target.namespace == nil || pod.namespace == target.namespace) && (target.name == nil || pod.name == target.name) {
                guard let facts = metricsCollector.podFacts(pod.namespace, pod.name), selector.matches(facts.labels) else { continue }
                items.append(["metadata": ["name": .string(pod.name), "namespace": .string(pod.namespace), "creationTimestamp": stamp(now),
                                           "labels": .object(facts.labels.mapValues { .string($0) })],
                              "timestamp": stamp(usage.time - usage.window), "window": window(usage.window),
                              "containers": .array(pod.containers.map { ["name": .string($0.name), "usage": ["cpu": cpu($0.cpuCores), "memory": memory($0.memoryBytes)]] })])
            }
        }
        if let name = target.name {
            guard var item = items.first else { throw BerthError(.notFound, "podmetrics.metrics.k8s.io \"\(name)\" not found") }
            item["kind"] = "PodMetrics"
            item["apiVersion"] = "metrics.k8s.io/v1beta1"
            return item
        }
        items.sort { ($0.value(at: ["metadata", "namespace"])?.stringValue ?? "", $0.value(at: ["metadata", "name"])?.stringValue ?? "")
            < ($1.value(at: ["metadata", "namespace"])?.stringValue ?? "", $1.value(at: ["metadata", "name"])?.stringValue ?? "") }
        return ["kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": [:], "items": .array(items)]
    }
}
