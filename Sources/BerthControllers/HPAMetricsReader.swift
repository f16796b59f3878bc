import BerthClient
import BerthCore
import BerthMetrics
import Foundation

/// What the autoscaler reads for one metric of one HPA, through the API as any client would:
/// `metrics.k8s.io` for Resource metrics, `custom.metrics.k8s.io` for Pods and Object metrics,
/// `external.metrics.k8s.io` for External ones. Each turns into a `ReplicaProposal` (the
/// arithmetic is `ReplicaCalculator`'s) and the `MetricStatus` the HPA reports.
struct HPAMetricsReader: Sendable {
    let api: ResourceAPI

    struct Outcome: Sendable {
        var proposal: ReplicaProposal
        var status: MetricStatus
        /// The HPA's message for a scale on this metric ("cpu resource utilization (percentage of request)").
        var reason: String
    }

    /// Why a metric could not be read: the `ScalingActive=False` reason and message.
    struct Failure: Error, Sendable {
        var reason: String
        var message: String
    }

    func result(_ metric: MetricSpec, namespace: String, selector: LabelSelector, pods: [Pod], current: Int) async -> Result<Outcome, Failure> {
        do throws(Failure) {
            return .success(try await read(metric, namespace: namespace, selector: selector, pods: pods, current: current))
        } catch {
            return .failure(error)
        }
    }

    func read(_ metric: MetricSpec, namespace: String, selector: LabelSelector, pods: [Pod], current: Int) async throws(Failure) -> Outcome {
        switch metric.type {
        case "Resource", "ContainerResource":
            let name = metric.resource?.name ?? metric.containerResource?.name ?? "cpu"
            let container = metric.containerResource?.container
            guard let target = metric.resource?.target ?? metric.containerResource?.target else { throw Failure(reason: "InvalidMetricSourceType", message: "no target") }
            let usage = try await podUsage(resource: name, container: container, namespace: namespace, selector: selector)
            let samples = pods.map { pod in
                PodMetricSample(name: pod.metadata.name ?? "", countsAsReady: Self.isReady(pod), usage: usage[pod.metadata.name ?? ""],
                                request: Self.request(of: pod, resource: name, container: container))
            }
            let proposal: ReplicaProposal
            var current = MetricValueStatus()
            do {
                if target.type == "Utilization" {
                    proposal = try ReplicaCalculator.utilization(current: pods.count, pods: samples, targetPercent: Int(target.averageUtilization ?? 80))
                    current.averageUtilization = proposal.utilization.map { Int32(clamping: $0) }
                    let measured = samples.compactMap(\.usage)
                    current.averageValue = Self.quantity(measured.isEmpty ? 0 : measured.reduce(0, +) / Double(measured.count), resource: name)
                } else {
                    proposal = try ReplicaCalculator.averageValue(current: pods.count, pods: samples, target: Self.value(target.averageValue ?? target.value))
                    current.averageValue = Self.quantity(proposal.value, resource: name)
                }
            } catch {
                throw Failure(reason: "FailedGetResourceMetric", message: Self.describe(error, resource: name))
            }
            var status = MetricStatus(type: metric.type)
            if let container {
                status.containerResource = ContainerResourceMetricStatus(name: name, container: container, current: current)
            } else {
                status.resource = ResourceMetricStatus(name: name, current: current)
            }
            let reason = target.type == "Utilization" ? "\(name) resource utilization (percentage of request)" : "\(name) resource"
            return Outcome(proposal: proposal, status: status, reason: reason)
        case "Pods":
            guard let source = metric.pods else { throw Failure(reason: "InvalidMetricSourceType", message: "no pods metric") }
            let values = try await customPodValues(source.metric, namespace: namespace, selector: selector)
            let samples = pods.map { PodMetricSample(name: $0.metadata.name ?? "", countsAsReady: true, usage: values[$0.metadata.name ?? ""]) }
            do {
                let proposal = try ReplicaCalculator.averageValue(current: pods.count, pods: samples, target: Self.value(source.target.averageValue))
                var status = MetricStatus(type: "Pods")
                status.pods = PodsMetricStatus(metric: source.metric, current: MetricValueStatus(averageValue: Self.quantity(proposal.value, resource: "")))
                return Outcome(proposal: proposal, status: status, reason: "pods metric \(source.metric.name)")
            } catch {
                throw Failure(reason: "FailedGetPodsMetric", message: "unable to get metric \(source.metric.name): no samples for the pods")
            }
        case "Object":
            guard let source = metric.object else { throw Failure(reason: "InvalidMetricSourceType", message: "no object metric") }
            let value = try await objectValue(source, namespace: namespace)
            var status = MetricStatus(type: "Object")
            let proposal: ReplicaProposal
            if source.target.type == "AverageValue" {
                proposal = ReplicaCalculator.totalOverAverage(current: current, value: value, targetAverage: Self.value(source.target.averageValue))
                status.object = ObjectMetricStatus(describedObject: source.describedObject, metric: source.metric,
                                                   current: MetricValueStatus(averageValue: Self.quantity(proposal.value, resource: "")))
            } else {
                proposal = ReplicaCalculator.value(current: current, readyPods: pods.filter(Self.isReady).count, value: value, target: Self.value(source.target.value))
                status.object = ObjectMetricStatus(describedObject: source.describedObject, metric: source.metric, current: MetricValueStatus(value: Self.quantity(value, resource: "")))
            }
            return Outcome(proposal: proposal, status: status, reason: "\(source.describedObject.kind) metric \(source.metric.name)")
        default:
            guard let source = metric.external else { throw Failure(reason: "InvalidMetricSourceType", message: "no external metric") }
            let value = try await externalValue(source.metric, namespace: namespace)
            var status = MetricStatus(type: "External")
            let proposal: ReplicaProposal
            if source.target.type == "AverageValue" {
                proposal = ReplicaCalculator.totalOverAverage(current: current, value: value, targetAverage: Self.value(source.target.averageValue))
                status.external = ExternalMetricStatus(metric: source.metric, current: MetricValueStatus(averageValue: Self.quantity(proposal.value, resource: "")))
            } else {
                proposal = ReplicaCalculator.value(current: current, readyPods: pods.filter(Self.isReady).count, value: value, target: Self.value(source.target.value))
                status.external = ExternalMetricStatus(metric: source.metric, current: MetricValueStatus(value: Self.quantity(value, resource: "")))
            }
            return Outcome(proposal: proposal, status: status, reason: "external metric \(source.metric.name)")
        }
    }

    // MARK: reading the metrics APIs

    func podUsage(resource: String, container: String?, namespace: String, selector: LabelSelector) async throws(Failure) -> [String: Double] {
        let list = try await get("/apis/metrics.k8s.io/v1beta1/namespaces/\(namespace)/pods?labelSelector=\(ResourceAPI.escape(selector.description))",
                                 reason: "FailedGetResourceMetric", what: "resource metric \(resource)")
        var usage: [String: Double] = [:]
        for item in list["items"]?.arrayValue ?? [] {
            guard let name = item.value(at: ["metadata", "name"])?.stringValue else { continue }
            var total = 0.0
            for entry in item["containers"]?.arrayValue ?? [] where container == nil || entry["name"]?.stringValue == container {
                total += entry.value(at: ["usage", resource])?.stringValue.flatMap { try? Quantity(parsing: $0) }.map { Double($0.nanos) / 1e9 } ?? 0
            }
            usage[name] = total
        }
        return usage
    }

    func customPodValues(_ metric: MetricIdentifier, namespace: String, selector: LabelSelector) async throws(Failure) -> [String: Double] {
        let path = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/\(namespace)/pods/*/\(ResourceAPI.escape(metric.name))?labelSelector=\(ResourceAPI.escape(selector.description))"
        let list = try await get(path, reason: "FailedGetPodsMetric", what: "pods metric \(metric.name)")
        var values: [String: Double] = [:]
        for item in list["items"]?.arrayValue ?? [] {
            if let name = item.value(at: ["describedObject", "name"])?.stringValue, let value = Self.parse(item["value"]) { values[name] = value }
        }
        return values
    }

    func objectValue(_ source: ObjectMetricSource, namespace: String) async throws(Failure) -> Double {
        let plural = source.describedObject.kind.lowercased() + "s"
        let path = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/\(namespace)/\(plural)/\(source.describedObject.name)/\(ResourceAPI.escape(source.metric.name))"
        let list = try await get(path, reason: "FailedGetObjectMetric", what: "object metric \(source.metric.name)")
        guard let value = (list["items"]?.arrayValue ?? []).compactMap({ Self.parse($0["value"]) }).first else {
            throw Failure(reason: "FailedGetObjectMetric", message: "no value for \(source.metric.name) of \(source.describedObject.kind)/\(source.describedObject.name)")
        }
        return value
    }

    func externalValue(_ metric: MetricIdentifier, namespace: String) async throws(Failure) -> Double {
        var path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/\(namespace)/\(ResourceAPI.escape(metric.name))"
        if let spec = metric.selector, let selector = try? LabelSelector(spec), !selector.isEmpty { path += "?labelSelector=\(ResourceAPI.escape(selector.description))" }
        let list = try await get(path, reason: "FailedGetExternalMetric", what: "external metric \(metric.name)")
        let values = (list["items"]?.arrayValue ?? []).compactMap { Self.parse($0["value"]) }
        guard !values.isEmpty else { throw Failure(reason: "FailedGetExternalMetric", message: "unable to get external metric \(namespace)/\(metric.name): no metrics returned") }
        return values.reduce(0, +)
    }

    private func get(_ path: String, reason: String, what: String) async throws(Failure) -> JSONValue {
        do {
            return try await api.client.request(.GET, path, timeout: .seconds(10)).checked().json()
        } catch {
            throw Failure(reason: reason, message: "unable to get \(what): \(error.message)")
        }
    }

    // MARK: pods and quantities

    static func isReady(_ pod: Pod) -> Bool {
        pod.status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false
    }

    static func request(of pod: Pod, resource: String, container: String?) -> Double? {
        var total = 0.0
        var found = false
        for entry in pod.spec?.containers ?? [] where container == nil || entry.name == container {
            guard let request = entry.resources?.requests?[resource] else { return nil }
            total += Double(request.nanos) / 1e9
            found = true
        }
        return found ? total : nil
    }

    static func value(_ quantity: Quantity?) -> Double { quantity.map { Double($0.nanos) / 1e9 } ?? 1 }

    static func parse(_ value: JSONValue?) -> Double? {
        guard let text = value?.stringValue ?? value.flatMap({ if case .number(let number) = $0 { return number } else { return nil } }) else { return nil }
        return (try? Quantity(parsing: text)).map { Double($0.nanos) / 1e9 }
    }

    /// Cores as millicores (`250m`), bytes as bytes, other values to the milli.
    static func quantity(_ value: Double, resource: String) -> Quantity {
        if resource == "memory" { return Quantity(integer: Int64(value.rounded())) }
        return Quantity(milli: Int64((value * 1000).rounded()))
    }

    static func describe(_ error: ReplicaCalculator.Failure, resource: String) -> String {
        switch error {
        case .noSamples: return "unable to get metrics for resource \(resource): no metrics returned from resource metrics API"
        case .missingRequest(let pod): return "failed to get \(resource) utilization: missing request for \(resource) in container of pod \(pod)"
        }
    }
}
