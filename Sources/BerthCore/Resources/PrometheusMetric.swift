import Foundation

/// `berth.dev/v1` PrometheusMetric: a business metric for autoscalers, answered by a PromQL
/// query against a Prometheus (what prometheus-adapter's rules do). The metric is named
/// after the object: an `External` one is served at
/// `/apis/external.metrics.k8s.io/v1beta1/namespaces/NS/NAME` (the query's result summed per
/// series), a `Pods` one at `/apis/custom.metrics.k8s.io/v1beta2/namespaces/NS/pods/*/NAME`
/// (one value per series carrying `pod` and `namespace` labels).
public struct PrometheusMetric: Codable, Sendable, Hashable {
    public var apiVersion: String? = "berth.dev/v1"
    public var kind: String? = "PrometheusMetric"
    public var metadata: ObjectMeta
    public var spec: PrometheusMetricSpec

    public static let types = ["External", "Pods"]
}

public struct PrometheusMetricSpec: Codable, Sendable, Hashable {
    /// The Prometheus to ask (`http://HOST:PORT`); empty: the server's `--prometheus-url`.
    public var prometheus: String?
    public var query: String
    /// `External` (default) or `Pods`.
    public var type: String?
}

extension PrometheusMetric: APIResource {
    public static func applyDefaults(_ object: inout PrometheusMetric) {
        if object.spec.type == nil { object.spec.type = "External" }
    }

    public static func validate(_ object: PrometheusMetric, old: PrometheusMetric?) -> FieldErrors {
        var errors = FieldErrors()
        let spec = object.spec
        if spec.query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            errors.required("spec.query")
        } else if spec.query.utf8.count > 8192 {
            errors.invalid("spec.query", String(spec.query.prefix(64)) + "…", "must be at most 8192 bytes")
        }
        if let type = spec.type, !types.contains(type) { errors.notSupported("spec.type", type, types) }
        if let url = spec.prometheus, !url.isEmpty {
            let parsed = URL(string: url)
            if parsed?.host == nil || !["http", "https"].contains(parsed?.scheme ?? "") {
                errors.invalid("spec.prometheus", url, "must be http://HOST:PORT or https://HOST:PORT")
            }
        }
        return errors
    }
}

extension ResourceDescriptor {
    public static let prometheusMetric = ResourceDescriptor(
        PrometheusMetric.self, group: "berth.dev", plural: "prometheusmetrics", shortNames: ["pm"],
        columns: [TableColumn("Type", "External or Pods."), TableColumn("Query", "The PromQL query."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "type") ?? "External"),
         .string(TableCells.string(object, "spec", "query") ?? ""), TableCells.age(object, now: now)]
    }
}
