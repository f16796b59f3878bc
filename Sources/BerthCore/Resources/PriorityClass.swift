/// `scheduling.k8s.io/v1` PriorityClass: a named pod priority. A pod that names one gets its
/// value in `spec.priority` at admission; the scheduler lets a pod that fits nowhere evict pods
/// of lower priority (preemption) unless its class says `preemptionPolicy: Never`.
public struct PriorityClass: Codable, Sendable, Hashable {
    public var apiVersion: String? = "scheduling.k8s.io/v1"
    public var kind: String? = "PriorityClass"
    public var metadata: ObjectMeta
    /// Required; like Kubernetes' `value`, top-level (the kind has no spec).
    public var value: Int32?
    /// Pods that name no class get this one's value; at most one class may say so.
    public var globalDefault: Bool?
    public var description: String?
    public var preemptionPolicy: String?

    public init(metadata: ObjectMeta, value: Int32, globalDefault: Bool? = nil, description: String? = nil) {
        self.metadata = metadata
        self.value = value
        self.globalDefault = globalDefault
        self.description = description
    }
}

extension PriorityClass: APIResource {
    /// User classes stay at or below this; above it only the built-in `system-` classes.
    public static let highestUserDefinable: Int32 = 1_000_000_000
    public static let preemptionPolicies = ["Never", "PreemptLowerPriority"]
    /// Kubernetes' two built-in classes, created by the server at start.
    public static let system: [(name: String, value: Int32, description: String)] = [
        ("system-node-critical", 2_000_001_000, "Used for system critical pods that must not be moved from their current node."),
        ("system-cluster-critical", 2_000_000_000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
    ]

    public static func applyDefaults(_ object: inout PriorityClass) {
        if object.preemptionPolicy == nil { object.preemptionPolicy = "PreemptLowerPriority" }
    }

    public static func validate(_ object: PriorityClass, old: PriorityClass?) -> FieldErrors {
        var errors = FieldErrors()
        let name = object.metadata.name ?? ""
        let builtIn = system.first { $0.name == name }
        if let value = object.value {
            if let builtIn, value != builtIn.value {
                errors.invalid("value", String(value), "must be \(builtIn.value) for the built-in class \(name)")
            } else if builtIn == nil, value > highestUserDefinable {
                errors.invalid("value", String(value), "must be less than or equal to \(highestUserDefinable)")
            }
        } else {
            errors.required("value")
        }
        if builtIn == nil, name.hasPrefix("system-") {
            errors.forbidden("metadata.name", "priority class names with 'system-' prefix are reserved")
        }
        if let policy = object.preemptionPolicy, !preemptionPolicies.contains(policy) {
            errors.notSupported("preemptionPolicy", policy, preemptionPolicies)
        }
        if let old {
            if old.value != object.value { errors.immutable("value") }
            if old.preemptionPolicy != object.preemptionPolicy { errors.immutable("preemptionPolicy") }
        }
        return errors
    }
}
