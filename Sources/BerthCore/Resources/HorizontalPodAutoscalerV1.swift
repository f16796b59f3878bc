import Foundation

/// `autoscaling/v1` HorizontalPodAutoscaler as a view of the stored `autoscaling/v2` object,
/// converted as Kubernetes converts it: the CPU utilization target is
/// `spec.targetCPUUtilizationPercentage`; what v1 has no field for (other metrics, behaviour,
/// conditions, current metrics) rides in the `autoscaling.alpha.kubernetes.io/*` annotations, so
/// a v1 read-modify-write keeps it. Pure.
public enum HPAVersionConversion {
    static let metricsAnnotation = "autoscaling.alpha.kubernetes.io/metrics"
    static let behaviorAnnotation = "autoscaling.alpha.kubernetes.io/behavior"
    static let conditionsAnnotation = "autoscaling.alpha.kubernetes.io/conditions"
    static let currentMetricsAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"

    static func isCPUUtilization(_ metric: JSONValue) -> Bool {
        metric["type"]?.stringValue == "Resource" && metric.value(at: ["resource", "name"])?.stringValue == "cpu"
            && metric.value(at: ["resource", "target", "type"])?.stringValue == "Utilization"
    }

    /// A stored v2 object as v1.
    public static func toV1(_ object: JSONValue) -> JSONValue {
        var result: JSONValue = ["apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": object["metadata"] ?? [:]]
        var annotations = object.value(at: ["metadata", "annotations"])?.objectValue ?? [:]
        var spec: JSONValue = ["scaleTargetRef": object.value(at: ["spec", "scaleTargetRef"]) ?? [:],
                               "maxReplicas": object.value(at: ["spec", "maxReplicas"]) ?? 0]
        if let minimum = object.value(at: ["spec", "minReplicas"]) { spec["minReplicas"] = minimum }
        let metrics = object.value(at: ["spec", "metrics"])?.arrayValue ?? []
        if let cpu = metrics.first(where: isCPUUtilization) { spec["targetCPUUtilizationPercentage"] = cpu.value(at: ["resource", "target", "averageUtilization"]) ?? 80 }
        let others = metrics.filter { !isCPUUtilization($0) }
        if !others.isEmpty { annotations[metricsAnnotation] = .string(JSONWriter.string(.array(others))) }
        if let behavior = object.value(at: ["spec", "behavior"]) { annotations[behaviorAnnotation] = .string(JSONWriter.string(behavior)) }
        result["spec"] = spec
        if let status = object["status"] {
            var v1: JSONValue = ["currentReplicas": status["currentReplicas"] ?? 0, "desiredReplicas": status["desiredReplicas"] ?? 0]
            for field in ["lastScaleTime", "observedGeneration"] { if let value = status[field] { v1[field] = value } }
            let current = status["currentMetrics"]?.arrayValue ?? []
            if let cpu = current.first(where: { $0["type"]?.stringValue == "Resource" && $0.value(at: ["resource", "name"])?.stringValue == "cpu" }),
               let utilization = cpu.value(at: ["resource", "current", "averageUtilization"]) {
                v1["currentCPUUtilizationPercentage"] = utilization
            }
            if !current.isEmpty { annotations[currentMetricsAnnotation] = .string(JSONWriter.string(.array(current))) }
            if let conditions = status["conditions"] { annotations[conditionsAnnotation] = .string(JSONWriter.string(conditions)) }
            result["status"] = v1
        }
        result.set(annotations.isEmpty ? nil : .object(annotations), at: ["metadata", "annotations"])
        return result
    }

    /// A v1 object a client wrote, as v2 (its annotations back into fields).
    public static func toV2(_ object: JSONValue) throws(BerthError) -> JSONValue {
        var annotations = object.value(at: ["metadata", "annotations"])?.objectValue ?? [:]
        func take(_ key: String) throws(BerthError) -> JSONValue? {
            guard let text = annotations.removeValue(forKey: key)?.stringValue else { return nil }
            do { return try JSONParser.parse(Array(text.utf8)) } catch {
                throw BerthError.invalid(kind: "HorizontalPodAutoscaler", name: object.value(at: ["metadata", "name"])?.stringValue ?? "", group: "autoscaling",
                                         causes: [.invalid("metadata.annotations[\(key)]", text, "must be JSON")])
            }
        }
        var metrics: [JSONValue] = []
        if let percent = object.value(at: ["spec", "targetCPUUtilizationPercentage"]) {
            metrics.append(["type": "Resource", "resource": ["name": "cpu", "target": ["type": "Utilization", "averageUtilization": percent]]])
        }
        metrics += try take(metricsAnnotation)?.arrayValue ?? []
        let behavior = try take(behaviorAnnotation)
        let conditions = try take(conditionsAnnotation)
        let current = try take(currentMetricsAnnotation)
        var spec: JSONValue = ["scaleTargetRef": object.value(at: ["spec", "scaleTargetRef"]) ?? [:], "maxReplicas": object.value(at: ["spec", "maxReplicas"]) ?? 0]
        if let minimum = object.value(at: ["spec", "minReplicas"]) { spec["minReplicas"] = minimum }
        if !metrics.isEmpty { spec["metrics"] = .array(metrics) }
        if let behavior { spec["behavior"] = behavior }
        var result: JSONValue = ["apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": object["metadata"] ?? [:], "spec": spec]
        result.set(annotations.isEmpty ? nil : .object(annotations), at: ["metadata", "annotations"])
        if let status = object["status"] {
            var v2: JSONValue = ["desiredReplicas": status["desiredReplicas"] ?? 0]
            for field in ["currentReplicas", "lastScaleTime", "observedGeneration"] { if let value = status[field] { v2[field] = value } }
            if let current { v2["currentMetrics"] = current }
            if let conditions { v2["conditions"] = conditions }
            result["status"] = v2
        }
        return result
    }
}
