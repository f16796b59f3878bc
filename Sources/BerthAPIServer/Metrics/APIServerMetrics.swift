import BerthCore
import BerthMetrics
import BerthStore
import Foundation
import Hummingbird

/// The API server's own metrics under kube-apiserver's names, kept in the process registry
/// (so `berth up`'s controllers, scheduler and work queues land on the same `/metrics`).
struct APIServerMetrics: Sendable {
    static let shared = APIServerMetrics(MetricsRegistry.process)

    static let requestLabels = ["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component", "code"]

    let requests: Counter
    let duration: Histogram
    let longRunning: Gauge
    let storeDuration: Histogram
    let registryRequests: Counter
    let registryRequestBytes: Counter
    let registryResponseBytes: Counter

    init(_ registry: MetricsRegistry) {
        requests = registry.counter("apiserver_request_total", help: "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
                                    labels: Self.requestLabels)
        duration = registry.histogram("apiserver_request_duration_seconds", help: "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
                                      labels: Array(Self.requestLabels.dropLast()))
        longRunning = registry.gauge("apiserver_longrunning_requests", help: "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.",
                                     labels: ["verb", "group", "version", "resource", "scope", "component"])
        storeDuration = registry.histogram("etcd_request_duration_seconds", help: "Store request latency in seconds for each operation and object type (SQLite or etcd).",
                                           labels: ["operation", "type"], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5])
        registryRequests = registry.counter("registry_http_requests_total", help: "Requests to the built-in registry by method and code.", labels: ["method", "code"])
        registryRequestBytes = registry.counter("registry_http_request_size_bytes_total", help: "Bytes received by the built-in registry (declared request bodies).", labels: ["method"])
        registryResponseBytes = registry.counter("registry_http_response_size_bytes_total", help: "Bytes the built-in registry answered with (declared response bodies).", labels: ["method"])
    }

    /// Counts a finished request under the labels kube-apiserver gives it.
    func record(_ attributes: RequestAttributes, method: String, dryRun: Bool, code: Int, seconds: Double) {
        var labels: [String]
        if let target = attributes.target {
            let scope = target.descriptor.namespaced ? (target.namespace == nil ? "cluster" : (target.name == nil ? "namespace" : "resource"))
                : (target.name == nil ? "cluster" : "resource")
            labels = [Self.verb(attributes.verb, method: method), dryRun ? "All" : "",
                      target.descriptor.group, target.descriptor.version, target.descriptor.plural, target.subresource ?? "", scope, "apiserver"]
        } else {
            labels = [method, "", "", "", "", "", "", "apiserver"]
        }
        duration.observe(seconds, labels: labels)
        labels.append(String(code))
        requests.add(1, labels: labels)
    }

    /// kube-apiserver's verb label: the method for writes, LIST/GET/WATCH for reads.
    static func verb(_ verb: String, method: String) -> String {
        switch verb {
        case "list": return "LIST"
        case "watch": return "WATCH"
        case "get": return "GET"
        case "update": return "PUT"
        case "deletecollection": return "DELETECOLLECTION"
        default: return method
        }
    }

    func watchStarted(_ descriptor: ResourceDescriptor, namespaced: Bool, by delta: Double) {
        longRunning.add(delta, "WATCH", descriptor.group, descriptor.version, descriptor.plural, namespaced ? "namespace" : "cluster", "apiserver")
    }

    /// A store call's time, by its key's kind (`/registry/pods/…` → `pods`).
    func observeStore(operation: String, key: String, seconds: Double) {
        storeDuration.observe(seconds, operation, Self.kind(ofKey: key))
    }

    static func kind(ofKey key: String) -> String {
        let parts = key.split(separator: "/", maxSplits: 4, omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0] == "registry" else { return "other" }
        // `/registry/core/pods/…` and `/registry/apps/deployments/…`: the plural follows the group.
        return parts.count >= 3 ? String(parts[2]) : String(parts[1])
    }
}

extension APIServer {
    /// The store observer for `TimedStore` (`etcd_request_duration_seconds`).
    public static let storeObserver: TimedStore.Observer = { operation, key, seconds in
        APIServerMetrics.shared.observeStore(operation: operation, key: key, seconds: seconds)
    }

    /// Counts a served request (`apiserver_request_total`, its latency; the registry's own
    /// counters for `/v2/`). The in-process callers (controllers, the local agent) count too,
    /// as kube-apiserver counts its loopback clients.
    func countRequest(_ request: Request, _ attributes: RequestAttributes, _ response: Response, since started: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let method = request.method.rawValue
        let metrics = APIServerMetrics.shared
        let dryRun = request.uri.query?.contains("dryRun=All") ?? false
        metrics.record(attributes, method: method, dryRun: dryRun, code: Int(response.status.code), seconds: seconds)
        if attributes.path.hasPrefix("/v2/") || attributes.path == "/v2" {
            metrics.registryRequests.add(1, method, String(response.status.code))
            if let length = request.headers[.contentLength].flatMap(Double.init) { metrics.registryRequestBytes.add(length, method) }
            if let length = response.headers[.contentLength].flatMap(Double.init) { metrics.registryResponseBytes.add(length, method) }
        }
    }
}
