import Foundation

extension HorizontalPodAutoscaler: APIResource {
    public static func applyDefaults(_ object: inout HorizontalPodAutoscaler) {
        if object.spec.minReplicas == nil { object.spec.minReplicas = 1 }
        if object.spec.metrics?.isEmpty ?? true {
            object.spec.metrics = [MetricSpec(type: "Resource", resource: ResourceMetricSource(
                name: "cpu", target: MetricTarget(type: "Utilization", averageUtilization: 80)))]
        }
        if var behavior = object.spec.behavior {
            behavior.scaleUp = HPAScalingRules.defaulted(behavior.scaleUp, up: true)
            behavior.scaleDown = HPAScalingRules.defaulted(behavior.scaleDown, up: false)
            object.spec.behavior = behavior
        }
    }

    public static func validate(_ object: HorizontalPodAutoscaler, old: HorizontalPodAutoscaler?) -> FieldErrors {
        var errors = FieldErrors()
        let spec = object.spec
        if spec.scaleTargetRef.kind.isEmpty { errors.required("spec.scaleTargetRef.kind") }
        if spec.scaleTargetRef.name.isEmpty { errors.required("spec.scaleTargetRef.name") }
        let minimum = spec.minReplicas ?? 1
        if minimum < 1 { errors.invalid("spec.minReplicas", String(minimum), "must be greater than or equal to 1") }
        if spec.maxReplicas < 1 { errors.invalid("spec.maxReplicas", String(spec.maxReplicas), "must be greater than or equal to 1") }
        if spec.maxReplicas < minimum { errors.invalid("spec.maxReplicas", String(spec.maxReplicas), "must be greater than or equal to `minReplicas`") }
        for (index, metric) in (spec.metrics ?? []).enumerated() {
            MetricSpec.validate(metric, path: "spec.metrics[\(index)]", into: &errors)
        }
        if let behavior = spec.behavior {
            HPAScalingRules.validate(behavior.scaleUp, path: "spec.behavior.scaleUp", into: &errors)
            HPAScalingRules.validate(behavior.scaleDown, path: "spec.behavior.scaleDown", into: &errors)
        }
        return errors
    }
}

extension MetricSpec {
    public init(type: String, resource: ResourceMetricSource) {
        self.type = type
        self.resource = resource
    }

    static func validate(_ metric: MetricSpec, path: String, into errors: inout FieldErrors) {
        let sources: [(String, Bool)] = [("Resource", metric.resource != nil), ("ContainerResource", metric.containerResource != nil),
                                         ("Pods", metric.pods != nil), ("Object", metric.object != nil), ("External", metric.external != nil)]
        guard types.contains(metric.type) else { return errors.notSupported("\(path).type", metric.type, types) }
        for (type, present) in sources where present != (type == metric.type) {
            let field = "\(path).\(type.prefix(1).lowercased())\(type.dropFirst())"
            if present {
                errors.invalid(field, "", "must be omitted for a metric of type \(metric.type)")
            } else {
                errors.required(field)
            }
        }
        if let resource = metric.resource {
            validateResourceName(resource.name, path: "\(path).resource.name", into: &errors)
            MetricTarget.validate(resource.target, path: "\(path).resource.target", allowsUtilization: true, into: &errors)
        }
        if let container = metric.containerResource {
            validateResourceName(container.name, path: "\(path).containerResource.name", into: &errors)
            if container.container.isEmpty { errors.required("\(path).containerResource.container") }
            MetricTarget.validate(container.target, path: "\(path).containerResource.target", allowsUtilization: true, into: &errors)
        }
        if let pods = metric.pods {
            if pods.metric.name.isEmpty { errors.required("\(path).pods.metric.name") }
            if pods.target.type != "AverageValue" { errors.notSupported("\(path).pods.target.type", pods.target.type, ["AverageValue"]) }
            MetricTarget.validate(pods.target, path: "\(path).pods.target", allowsUtilization: false, into: &errors)
        }
        if let object = metric.object {
            if object.metric.name.isEmpty { errors.required("\(path).object.metric.name") }
            if object.describedObject.kind.isEmpty { errors.required("\(path).object.describedObject.kind") }
            if object.describedObject.name.isEmpty { errors.required("\(path).object.describedObject.name") }
            MetricTarget.validate(object.target, path: "\(path).object.target", allowsUtilization: false, into: &errors)
        }
        if let external = metric.external {
            if external.metric.name.isEmpty { errors.required("\(path).external.metric.name") }
            MetricTarget.validate(external.target, path: "\(path).external.target", allowsUtilization: false, into: &errors)
        }
    }

    static func validateResourceName(_ name: String, path: String, into errors: inout FieldErrors) {
        if !["cpu", "memory"].contains(name) { errors.notSupported(path, name, ["cpu", "memory"]) }
    }
}

extension MetricTarget {
    public init(type: String, averageUtilization: Int32) {
        self.type = type
        self.averageUtilization = averageUtilization
    }

    static func validate(_ target: MetricTarget, path: String, allowsUtilization: Bool, into errors: inout FieldErrors) {
        let allowed = allowsUtilization ? types : ["AverageValue", "Value"]
        guard allowed.contains(target.type) else { return errors.notSupported("\(path).type", target.type, allowed) }
        switch target.type {
        case "Utilization":
            guard let utilization = target.averageUtilization else { return errors.required("\(path).averageUtilization") }
            if utilization < 1 { errors.invalid("\(path).averageUtilization", String(utilization), "must be greater than 0") }
        case "Value":
            guard let value = target.value else { return errors.required("\(path).value") }
            if value.nanos <= 0 { errors.invalid("\(path).value", value.description, "must be positive") }
        default:
            guard let value = target.averageValue else { return errors.required("\(path).averageValue") }
            if value.nanos <= 0 { errors.invalid("\(path).averageValue", value.description, "must be positive") }
        }
    }
}

extension HPAScalingRules {
    /// Kubernetes' defaults: up at once (no window) by the larger of 100 % or 4 pods per 15 s;
    /// down after a 300 s window by up to 100 % per 15 s.
    public static func defaulted(_ rules: HPAScalingRules?, up: Bool) -> HPAScalingRules {
        var rules = rules ?? HPAScalingRules()
        if rules.stabilizationWindowSeconds == nil { rules.stabilizationWindowSeconds = up ? 0 : 300 }
        if rules.selectPolicy == nil { rules.selectPolicy = "Max" }
        if rules.policies == nil {
            rules.policies = up ? [HPAScalingPolicy(type: "Pods", value: 4, periodSeconds: 15), HPAScalingPolicy(type: "Percent", value: 100, periodSeconds: 15)]
                : [HPAScalingPolicy(type: "Percent", value: 100, periodSeconds: 15)]
        }
        return rules
    }

    static func validate(_ rules: HPAScalingRules?, path: String, into errors: inout FieldErrors) {
        guard let rules else { return }
        if let window = rules.stabilizationWindowSeconds, !(0...3600).contains(window) {
            errors.invalid("\(path).stabilizationWindowSeconds", String(window), "must be between 0 and 3600")
        }
        if let select = rules.selectPolicy, !selectPolicies.contains(select) { errors.notSupported("\(path).selectPolicy", select, selectPolicies) }
        if let policies = rules.policies, policies.isEmpty, rules.selectPolicy != "Disabled" {
            errors.required("\(path).policies")
        }
        for (index, policy) in (rules.policies ?? []).enumerated() {
            let field = "\(path).policies[\(index)]"
            if !HPAScalingPolicy.types.contains(policy.type) { errors.notSupported("\(field).type", policy.type, HPAScalingPolicy.types) }
            if policy.value < 1 { errors.invalid("\(field).value", String(policy.value), "must be greater than zero") }
            if !(1...1800).contains(policy.periodSeconds) { errors.invalid("\(field).periodSeconds", String(policy.periodSeconds), "must be between 1 and 1800") }
        }
    }
}

extension ResourceDescriptor {
    public static let horizontalPodAutoscaler = ResourceDescriptor(
        HorizontalPodAutoscaler.self, group: "autoscaling", version: "v2", plural: "horizontalpodautoscalers", shortNames: ["hpa"], categories: ["all"],
        subresources: ["status"], tracksGeneration: true,
        columns: [
            TableColumn("Reference", "The kind and name of the scaled workload."),
            TableColumn("Targets", "Current and target values of each metric."),
            TableColumn("MinPods", "integer", "The lower bound of replicas."),
            TableColumn("MaxPods", "integer", "The upper bound of replicas."),
            TableColumn("Replicas", "integer", "Current replicas."),
            ageColumn,
        ]
    ) { object, now in
        let reference = "\(TableCells.string(object, "spec", "scaleTargetRef", "kind") ?? "")/\(TableCells.string(object, "spec", "scaleTargetRef", "name") ?? "")"
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(reference), .string(HPATargets.text(object)),
            TableCells.number(object.value(at: ["spec", "minReplicas"])?.intValue ?? 1), TableCells.number(TableCells.int(object, "spec", "maxReplicas")),
            TableCells.number(TableCells.int(object, "status", "currentReplicas")), TableCells.age(object, now: now),
        ]
    }
}

/// kubectl's TARGETS cell: `cpu: 45%/50%`, `<unknown>` before a metric is measured.
enum HPATargets {
    static func text(_ object: JSONValue) -> String {
        let specs = object.value(at: ["spec", "metrics"])?.arrayValue ?? []
        let current = object.value(at: ["status", "currentMetrics"])?.arrayValue ?? []
        guard !specs.isEmpty else { return "<none>" }
        var cells: [String] = []
        for (index, metric) in specs.enumerated() {
            let type = metric["type"]?.stringValue ?? ""
            let key = type.prefix(1).lowercased() + type.dropFirst()
            let source = metric[key] ?? [:]
            let target = source["target"] ?? [:]
            let status = index < current.count ? current[index][key]?["current"] : nil
            let name = source["name"]?.stringValue ?? source["metric"]?["name"]?.stringValue ?? type
            func cell(_ field: String, percent: Bool) -> String {
                guard let value = status?[field] else { return "<unknown>" }
                let text = value.stringValue ?? value.intValue.map(String.init) ?? "<unknown>"
                return percent ? text + "%" : text
            }
            switch target["type"]?.stringValue {
            case "Utilization":
                cells.append("\(name): \(cell("averageUtilization", percent: true))/\(target["averageUtilization"]?.intValue.map(String.init) ?? "?")%")
            case "AverageValue":
                cells.append("\(name): \(cell("averageValue", percent: false))/\(target["averageValue"]?.stringValue ?? "?") (avg)")
            default:
                cells.append("\(name): \(cell("value", percent: false))/\(target["value"]?.stringValue ?? "?")")
            }
        }
        return cells.joined(separator: ", ")
    }
}
