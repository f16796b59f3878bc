import Foundation

/// `core/v1` LimitRange: defaults and bounds for the resources of each container (and pod) in a
/// namespace. Admission fills a container's missing limits from `default` and requests from
/// `defaultRequest` (or its limits), then checks `min`, `max` and `maxLimitRequestRatio` per
/// container (type Container) and on the pod's sums (type Pod). Type PersistentVolumeClaim is
/// accepted and kept, and applies once claims are served (the storage issue).
public struct LimitRange: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "LimitRange"
    public var metadata: ObjectMeta
    public var spec: LimitRangeSpec?
}

public struct LimitRangeSpec: Codable, Sendable, Hashable {
    public var limits: [LimitRangeItem]
}

public struct LimitRangeItem: Codable, Sendable, Hashable {
    public var type: String
    public var max: [String: Quantity]?
    public var min: [String: Quantity]?
    public var `default`: [String: Quantity]?
    public var defaultRequest: [String: Quantity]?
    public var maxLimitRequestRatio: [String: Quantity]?
}

extension LimitRange: APIResource {
    public static func validate(_ object: LimitRange, old: LimitRange?) -> FieldErrors {
        var errors = FieldErrors()
        for (index, item) in (object.spec?.limits ?? []).enumerated() {
            let path = "spec.limits[\(index)]"
            let types = ["Container", "Pod", "PersistentVolumeClaim"]
            if !types.contains(item.type) { errors.notSupported("\(path).type", item.type, types) }
            if item.type == "Pod", item.default != nil || item.defaultRequest != nil {
                errors.forbidden("\(path).default", "may not be specified when `type` is 'Pod'")
            }
            for (resource, minimum) in item.min ?? [:] {
                if let maximum = item.max?[resource], minimum > maximum {
                    errors.invalid("\(path).min[\(resource)]", minimum.description, "min value \(minimum) is greater than max value \(maximum)")
                }
                if let value = item.default?[resource], value < minimum {
                    errors.invalid("\(path).default[\(resource)]", value.description, "min value \(minimum) is greater than default value \(value)")
                }
            }
            for (resource, maximum) in item.max ?? [:] {
                if let value = item.default?[resource], value > maximum {
                    errors.invalid("\(path).default[\(resource)]", value.description, "default value \(value) is greater than max value \(maximum)")
                }
            }
        }
        return errors
    }
}

extension ResourceDescriptor {
    public static let limitRange = ResourceDescriptor(
        LimitRange.self, plural: "limitranges", shortNames: ["limits"], columns: [createdAtColumn]
    ) { object, _ in [.string(TableCells.string(object, "metadata", "name") ?? ""), createdAt(object)] }
}

/// What a namespace's LimitRanges do to a pod at admission (pure).
public enum LimitRangePolicy {
    /// The pod with container defaults filled in, or the violations worded as Kubernetes'
    /// (`minimum cpu usage per Container is 100m, but request is 50m`).
    public static func apply(_ ranges: [LimitRange], to spec: inout PodSpec) -> [String] {
        var problems: [String] = []
        let items = ranges.flatMap { $0.spec?.limits ?? [] }
        for item in items where item.type == "Container" {
            func fill(_ container: inout Container) {
                var resources = container.resources ?? ResourceRequirements()
                let asked = resources.limits ?? [:]
                for (name, value) in item.default ?? [:] where resources.limits?[name] == nil {
                    resources.limits = (resources.limits ?? [:]).merging([name: value]) { $1 }
                }
                // A missing request is the range's default request, else the limit the
                // container asked for, else the range's default limit (Kubernetes' order).
                let names = Set((item.defaultRequest ?? [:]).keys).union((item.default ?? [:]).keys)
                for name in names where resources.requests?[name] == nil {
                    guard let value = item.defaultRequest?[name] ?? asked[name] ?? item.default?[name] else { continue }
                    resources.requests = (resources.requests ?? [:]).merging([name: value]) { $1 }
                }
                container.resources = resources
            }
            for index in spec.containers.indices { fill(&spec.containers[index]) }
            for index in (spec.initContainers ?? []).indices { fill(&spec.initContainers![index]) }
        }
        for item in items where item.type == "Container" {
            for container in (spec.initContainers ?? []) + spec.containers {
                let requests = container.resources?.requests ?? [:], limits = container.resources?.limits ?? [:]
                for (name, minimum) in (item.min ?? [:]).sorted(by: { $0.key < $1.key }) {
                    if let request = requests[name], request < minimum {
                        problems.append("minimum \(name) usage per Container is \(minimum), but request is \(request)")
                    } else if requests[name] == nil {
                        problems.append("minimum \(name) usage per Container is \(minimum).  No request is specified")
                    }
                }
                for (name, maximum) in (item.max ?? [:]).sorted(by: { $0.key < $1.key }) {
                    if let limit = limits[name], limit > maximum {
                        problems.append("maximum \(name) usage per Container is \(maximum), but limit is \(limit)")
                    } else if limits[name] == nil {
                        problems.append("maximum \(name) usage per Container is \(maximum).  No limit is specified")
                    }
                }
                for (name, ratio) in (item.maxLimitRequestRatio ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let limit = limits[name], let request = requests[name], request.nanos > 0 else { continue }
                    let actual = Double(limit.nanos) / Double(request.nanos)
                    if actual > Double(ratio.nanos) / 1_000_000_000 {
                        problems.append("\(name) max limit to request ratio per Container is \(ratio), but provided ratio is \(String(format: "%.6f", actual))")
                    }
                }
            }
        }
        // Type Pod bounds the pod's sums (containers' requests and limits added up).
        for item in items where item.type == "Pod" {
            var requests: [String: Quantity] = [:], limits: [String: Quantity] = [:]
            var everyLimit: [String: Bool] = [:], everyRequest: [String: Bool] = [:]
            for container in spec.containers {
                for name in Set((item.min ?? [:]).keys).union((item.max ?? [:]).keys).union((item.maxLimitRequestRatio ?? [:]).keys) {
                    if let value = container.resources?.requests?[name] { requests[name] = (requests[name] ?? Quantity(integer: 0)) + value } else { everyRequest[name] = false }
                    if let value = container.resources?.limits?[name] { limits[name] = (limits[name] ?? Quantity(integer: 0)) + value } else { everyLimit[name] = false }
                }
            }
            for (name, minimum) in (item.min ?? [:]).sorted(by: { $0.key < $1.key }) {
                if everyRequest[name] == false { problems.append("minimum \(name) usage per Pod is \(minimum).  No request is specified") }
                else if let request = requests[name], request < minimum { problems.append("minimum \(name) usage per Pod is \(minimum), but request is \(request)") }
            }
            for (name, maximum) in (item.max ?? [:]).sorted(by: { $0.key < $1.key }) {
                if everyLimit[name] == false { problems.append("maximum \(name) usage per Pod is \(maximum).  No limit is specified") }
                else if let limit = limits[name], limit > maximum { problems.append("maximum \(name) usage per Pod is \(maximum), but limit is \(limit)") }
            }
            for (name, ratio) in (item.maxLimitRequestRatio ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let limit = limits[name], let request = requests[name], request.nanos > 0 else { continue }
                let actual = Double(limit.nanos) / Double(request.nanos)
                if actual > Double(ratio.nanos) / 1_000_000_000 {
                    problems.append("\(name) max limit to request ratio per Pod is \(ratio), but provided ratio is \(String(format: "%.6f", actual))")
                }
            }
        }
        return problems
    }
}
