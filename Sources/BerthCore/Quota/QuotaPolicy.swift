import Foundation

/// What an object counts against a quota, and whether a write fits (pure; Kubernetes' quota
/// evaluators). A ResourceQuota and a Tenant's quota are both a `hard` map checked by `check`.
public enum QuotaPolicy {
    /// Names a quota may limit: the standard ones, `count/RESOURCE[.GROUP]`, and fully qualified
    /// extended resources (`requests.example.com/gpu`).
    public static func isQuotaResourceName(_ name: String) -> Bool {
        if standardNames.contains(name) || name.hasPrefix("count/") && name.count > 6 { return true }
        if name.hasPrefix("requests.") || name.hasPrefix("limits.") { return name.contains("/") || name.hasPrefix("requests.hugepages-") || name.hasPrefix("limits.hugepages-") }
        return name.contains("/")
    }

    static let standardNames: Set<String> = [
        "pods", "services", "services.nodeports", "services.loadbalancers", "configmaps", "secrets", "resourcequotas",
        "replicationcontrollers", "persistentvolumeclaims", "requests.storage",
        "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
        "limits.cpu", "limits.memory", "limits.ephemeral-storage",
    ]

    /// Core kinds whose count also has a legacy name (`configmaps` besides `count/configmaps`).
    static let legacyCountNames: Set<String> = ["pods", "services", "configmaps", "secrets", "resourcequotas", "replicationcontrollers", "persistentvolumeclaims"]

    /// What `object` (of `descriptor`'s kind) uses, under every name a quota could limit it by.
    /// A pod that finished (Succeeded, Failed) uses nothing, as in Kubernetes.
    public static func usage(_ descriptor: ResourceDescriptor, _ object: JSONValue) -> [String: Quantity] {
        let countName = descriptor.group.isEmpty ? "count/\(descriptor.plural)" : "count/\(descriptor.plural).\(descriptor.group)"
        var usage: [String: Quantity] = [countName: Quantity(integer: 1)]
        if descriptor.group.isEmpty, legacyCountNames.contains(descriptor.plural) { usage[descriptor.plural] = Quantity(integer: 1) }
        switch descriptor.kind {
        case "Pod":
            let phase = object.value(at: ["status", "phase"])?.stringValue ?? ""
            if phase == "Succeeded" || phase == "Failed" { return [:] }
            guard let spec = try? object["spec"]?.decode(PodSpec.self) else { return usage }
            for (name, value) in podCompute(spec) { usage[name] = value }
        case "Service":
            let type = object.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
            if type == "NodePort" || type == "LoadBalancer" {
                usage["services.nodeports"] = Quantity(integer: Int64(object.value(at: ["spec", "ports"])?.arrayValue?.count ?? 0))
            }
            if type == "LoadBalancer" { usage["services.loadbalancers"] = Quantity(integer: 1) }
        case "PersistentVolumeClaim":
            // The storage a claim asks for, in all and per class (`CLASS.storageclass.storage.k8s.io/…`).
            guard let text = object.value(at: ["spec", "resources", "requests", "storage"])?.stringValue, let storage = try? Quantity(parsing: text) else { return usage }
            usage["requests.storage"] = storage
            if let storageClass = object.value(at: ["spec", "storageClassName"])?.stringValue, !storageClass.isEmpty {
                usage["\(storageClass).storageclass.storage.k8s.io/requests.storage"] = storage
                usage["\(storageClass).storageclass.storage.k8s.io/persistentvolumeclaims"] = Quantity(integer: 1)
            }
        default:
            break
        }
        return usage
    }

    /// A pod's compute use: each resource the larger of its containers' sum and its largest init
    /// container, plus the pod's overhead; a missing request counts as its limit (Kubernetes
    /// defaults requests from limits).
    static func podCompute(_ spec: PodSpec) -> [String: Quantity] {
        func amounts(_ container: Container) -> [String: Quantity] {
            var result: [String: Quantity] = [:]
            let requests = container.resources?.requests ?? [:], limits = container.resources?.limits ?? [:]
            for name in ["cpu", "memory", "ephemeral-storage"] {
                if let request = requests[name] ?? limits[name] { result["requests.\(name)"] = request }
                if let limit = limits[name] { result["limits.\(name)"] = limit }
            }
            for (name, value) in requests where name.contains("/") || name.hasPrefix("hugepages-") { result["requests.\(name)"] = value }
            return result
        }
        var total: [String: Quantity] = [:]
        for container in spec.containers { total.merge(amounts(container)) { $0 + $1 } }
        for container in spec.initContainers ?? [] {
            for (name, value) in amounts(container) where value > (total[name] ?? Quantity(integer: 0)) { total[name] = value }
        }
        for (name, value) in spec.overhead ?? [:] {
            for prefix in ["requests.", "limits."] where total[prefix + name] != nil { total[prefix + name]! = total[prefix + name]! + value }
        }
        // The bare names are requests.
        for name in ["cpu", "memory", "ephemeral-storage"] { total[name] = total["requests.\(name)"] }
        return total
    }

    /// Whether a quota with these scopes governs the object: scoped quotas govern pods only.
    public static func matchesScopes(_ spec: ResourceQuotaSpec?, _ descriptor: ResourceDescriptor, _ object: JSONValue) -> Bool {
        var requirements = (spec?.scopes ?? []).map { ScopedResourceSelectorRequirement(scopeName: $0, operator: "Exists", values: nil) }
        requirements += spec?.scopeSelector?.matchExpressions ?? []
        if requirements.isEmpty { return true }
        guard descriptor.kind == "Pod", let pod = try? object["spec"]?.decode(PodSpec.self) else { return false }
        return requirements.allSatisfy { requirement in
            let holds: Bool
            switch requirement.scopeName {
            case "BestEffort": holds = isBestEffort(pod)
            case "NotBestEffort": holds = !isBestEffort(pod)
            case "Terminating": holds = pod.activeDeadlineSeconds != nil
            case "NotTerminating": holds = pod.activeDeadlineSeconds == nil
            case "PriorityClass":
                let name = pod.priorityClassName ?? ""
                switch requirement.operator {
                case "In": return (requirement.values ?? []).contains(name)
                case "NotIn": return !(requirement.values ?? []).contains(name)
                case "Exists": return !name.isEmpty
                case "DoesNotExist": return name.isEmpty
                default: return false
                }
            default: holds = false
            }
            return requirement.operator == "DoesNotExist" ? !holds : holds
        }
    }

    static func isBestEffort(_ spec: PodSpec) -> Bool {
        for container in spec.containers + (spec.initContainers ?? []) {
            let requirements = container.resources
            for name in ["cpu", "memory"] where requirements?.requests?[name] != nil || requirements?.limits?[name] != nil { return false }
        }
        return true
    }

    /// The outcome of checking one write against one quota.
    public enum Verdict: Equatable, Sendable {
        /// Within the quota; `used` is the quota's use with this write charged.
        case fits(used: [String: Quantity])
        /// Nothing the quota limits changes.
        case untouched
        /// Over: Kubernetes' words after "exceeded quota: NAME, ".
        case exceeded(String)
        /// The pod leaves out a resource the quota limits (`must specify limits.cpu for: app`).
        case unspecified(String)
    }

    /// Checks the change from `old` to `new` usage (old is nil for a create) against `hard`,
    /// given what is `used` now. Only increases are charged; a decrease waits for the recount.
    public static func check(hard: [String: Quantity], used: [String: Quantity], new: [String: Quantity], old: [String: Quantity]?,
                             descriptor: ResourceDescriptor, object: JSONValue) -> Verdict {
        if descriptor.kind == "Pod", old == nil, let spec = try? object["spec"]?.decode(PodSpec.self) {
            var missing: [String] = []
            for name in ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory"] where hard[name] != nil {
                let resource = name.hasPrefix("limits.") ? String(name.dropFirst(7)) : name.hasPrefix("requests.") ? String(name.dropFirst(9)) : name
                let containers = spec.containers.filter { container in
                    name.hasPrefix("limits.") ? container.resources?.limits?[resource] == nil
                        : (container.resources?.requests?[resource] ?? container.resources?.limits?[resource]) == nil
                }.map(\.name)
                let label = name.hasPrefix("limits.") || name.hasPrefix("requests.") ? name : "requests.\(name)"
                if !containers.isEmpty, !missing.contains(where: { $0.hasPrefix(label + " ") }) {
                    missing.append("\(label) for: \(containers.joined(separator: ","))")
                }
            }
            if !missing.isEmpty { return .unspecified("must specify " + missing.sorted().joined(separator: "; ")) }
        }
        var delta: [String: Quantity] = [:]
        for (name, value) in new where hard[name] != nil {
            let change = value - (old?[name] ?? Quantity(integer: 0))
            if change.nanos > 0 { delta[name] = change }
        }
        if delta.isEmpty { return .untouched }
        var charged = used
        var over: [String] = []
        for (name, change) in delta {
            let total = (used[name] ?? Quantity(integer: 0)) + change
            charged[name] = Quantity(nanos: total.nanos, format: hard[name]?.format ?? .decimalSI)
            if total > hard[name]! { over.append(name) }
        }
        if over.isEmpty { return .fits(used: charged) }
        over.sort()
        func list(_ values: [String: Quantity]) -> String {
            over.map { "\($0)=\(Quantity(nanos: (values[$0] ?? Quantity(integer: 0)).nanos, format: hard[$0]?.format ?? .decimalSI))" }.joined(separator: ",")
        }
        return .exceeded("requested: \(list(delta)), used: \(list(used)), limited: \(list(hard))")
    }

    /// The use of many objects together (the recount).
    public static func total(_ usages: [[String: Quantity]], limitedTo hard: [String: Quantity]) -> [String: Quantity] {
        var used: [String: Quantity] = [:]
        for name in hard.keys { used[name] = Quantity(nanos: 0, format: hard[name]!.format) }
        for usage in usages {
            for (name, value) in usage where hard[name] != nil { used[name] = used[name]! + value }
        }
        return used
    }
}
