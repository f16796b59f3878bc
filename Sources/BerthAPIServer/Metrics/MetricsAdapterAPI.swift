import BerthCore
import BerthMetrics
import BerthStore
import Foundation
import Hummingbird

/// `external.metrics.k8s.io/v1beta1` and `custom.metrics.k8s.io/v1beta2` (pods metrics),
/// answered from the namespace's `PrometheusMetric` objects by querying their Prometheus at
/// request time (what prometheus-adapter does, without a separate deployment). Reading a
/// metric is authorized as reading its PrometheusMetric (`get prometheusmetrics.berth.dev`).
extension APIServer {
    static let externalMetricsGroup = "external.metrics.k8s.io"
    static let customMetricsGroup = "custom.metrics.k8s.io"

    /// `…/namespaces/NS/NAME` (external) or `…/namespaces/NS/pods/POD|*/NAME` (custom).
    struct AdapterPath {
        var external: Bool
        var namespace: String
        var metric: String
        var pod: String?

        init?(path: String) {
            let segments = path.split(separator: "/").map(String.init)
            guard segments.count >= 6, segments[0] == "apis", segments[3] == "namespaces" else { return nil }
            if segments[1] == externalMetricsGroup, segments[2] == "v1beta1", segments.count == 6 {
                external = true
                namespace = segments[4]
                metric = segments[5]
            } else if segments[1] == customMetricsGroup, segments[2] == "v1beta2", segments.count == 8, segments[5] == "pods" {
                external = false
                namespace = segments[4]
                pod = segments[6]
                metric = segments[7]
            } else {
                return nil
            }
        }
    }

    static func adapterGroupDocument(_ group: String, version: String, kind: String?) -> JSONValue {
        let entry: JSONValue = ["groupVersion": .string("\(group)/\(version)"), "version": .string(version)]
        var document: JSONValue = ["name": .string(group), "versions": [entry], "preferredVersion": entry]
        if let kind {
            document["kind"] = .string(kind)
            document["apiVersion"] = "v1"
        }
        return document
    }

    static var metricsAdapterMount: Mount {
        Mount(name: "metrics-adapter", matches: { path in
            path.hasPrefix("/apis/\(externalMetricsGroup)") || path.hasPrefix("/apis/\(customMetricsGroup)")
        }, target: { request, _ in
            AdapterPath(path: request.uri.path).map { ResourceTarget(descriptor: .prometheusMetric, namespace: $0.namespace, name: $0.metric) }
        }) { server, request, _, _ throws(BerthError) in
            guard request.method == .get else { throw BerthError(.methodNotAllowed, "the metrics APIs are read-only") }
            let path = request.uri.path.hasSuffix("/") ? String(request.uri.path.dropLast()) : request.uri.path
            for (group, version) in [(externalMetricsGroup, "v1beta1"), (customMetricsGroup, "v1beta2")] {
                if path == "/apis/\(group)" { return Responses.json(adapterGroupDocument(group, version: version, kind: "APIGroup")) }
                if path == "/apis/\(group)/\(version)" { return Responses.json(try await server.adapterResources(group: group, version: version)) }
            }
            guard let target = AdapterPath(path: path) else { throw BerthError(.notFound, "the server could not find the requested resource") }
            let selector = try LabelSelector(parsing: QueryParameters(request.uri.query)["labelSelector"] ?? "")
            return Responses.json(try await server.adapterValues(target, selector: selector))
        }
    }

    /// Each PrometheusMetric of the right type, as a resource of the group.
    func adapterResources(group: String, version: String) async throws(BerthError) -> JSONValue {
        let external = group == Self.externalMetricsGroup
        var names = Set<String>()
        for kv in try await storage.list(.prometheusMetric, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let object = try ObjectCodec.decode(kv)
            guard let name = object.value(at: ["metadata", "name"])?.stringValue else { continue }
            let type = object.value(at: ["spec", "type"])?.stringValue ?? "External"
            if (type == "External") == external { names.insert(external ? name : "pods/\(name)") }
        }
        let resources: [JSONValue] = names.sorted().map { name in
            ["name": .string(name), "singularName": "", "namespaced": true, "kind": external ? "ExternalMetricValueList" : "MetricValueList", "verbs": ["get"]]
        }
        return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string("\(group)/\(version)"), "resources": .array(resources)]
    }

    func adapterValues(_ target: AdapterPath, selector: LabelSelector) async throws(BerthError) -> JSONValue {
        let object = try await storage.get(.prometheusMetric, namespace: target.namespace, name: target.metric)
        let type = object.value(at: ["spec", "type"])?.stringValue ?? "External"
        guard (type == "External") == target.external else {
            throw BerthError(.notFound, "\(target.metric) in \(target.namespace) is a \(type) metric: it is served by \(type == "External" ? Self.externalMetricsGroup : Self.customMetricsGroup)")
        }
        let configured = object.value(at: ["spec", "prometheus"])?.stringValue ?? ""
        guard let base = configured.isEmpty ? configuration.prometheusURL : configured else {
            throw BerthError(.unavailable, "no Prometheus for \(target.metric): set spec.prometheus, or start the server with --prometheus-url")
        }
        let samples = try await PrometheusQuery.run(object.value(at: ["spec", "query"])?.stringValue ?? "", at: base)
        func quantity(_ value: Double) -> JSONValue {
            .string(value.isFinite ? Quantity(milli: Int64((value * 1000).rounded())).description : "0")
        }
        func stamp(_ time: Double) -> JSONValue { .string(RFC3339.seconds(Date(timeIntervalSince1970: time))) }
        if target.external {
            let items: [JSONValue] = samples.filter { selector.matches($0.labels) }.map { sample in
                ["metricName": .string(target.metric), "metricLabels": .object(sample.labels.mapValues { .string($0) }),
                 "timestamp": stamp(sample.time), "value": quantity(sample.value)]
            }
            return ["kind": "ExternalMetricValueList", "apiVersion": "external.metrics.k8s.io/v1beta1", "metadata": [:], "items": .array(items)]
        }
        // Pods metrics: series named by their `pod` label, kept to the pods the selector picks.
        var chosen: Set<String>?
        if !selector.isEmpty || target.pod != "*" {
            var names = Set<String>()
            for kv in try await storage.list(.pod, namespace: target.namespace, limit: 0, continueAfter: nil).kvs {
                let pod = try ObjectCodec.decode(kv)
                let name = pod.value(at: ["metadata", "name"])?.stringValue ?? ""
                let labels = pod.value(at: ["metadata", "labels"])?.objectValue?.compactMapValues(\.stringValue)
                if (target.pod == "*" || target.pod == name) && selector.matches(labels) { names.insert(name) }
            }
            chosen = names
        }
        var items: [JSONValue] = []
        for sample in samples {
            guard let pod = sample.labels["pod"], sample.labels["namespace"].map({ $0 == target.namespace }) ?? true,
                  chosen?.contains(pod) ?? true else { continue }
            items.append(["describedObject": ["kind": "Pod", "namespace": .string(target.namespace), "name": .string(pod), "apiVersion": "/v1"],
                          "metric": ["name": .string(target.metric)], "timestamp": stamp(sample.time), "value": quantity(sample.value)])
        }
        return ["kind": "MetricValueList", "apiVersion": "custom.metrics.k8s.io/v1beta2", "metadata": [:], "items": .array(items)]
    }
}
