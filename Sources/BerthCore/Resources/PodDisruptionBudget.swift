import Foundation

/// `policy/v1` PodDisruptionBudget: how many of an app's pods voluntary disruptions (evictions,
/// `kubectl drain`) must leave running.
public struct PodDisruptionBudget: Codable, Sendable, Hashable {
    public var apiVersion: String? = "policy/v1"
    public var kind: String? = "PodDisruptionBudget"
    public var metadata: ObjectMeta
    public var spec: PodDisruptionBudgetSpec?
    public var status: PodDisruptionBudgetStatus?

    public init(metadata: ObjectMeta, spec: PodDisruptionBudgetSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodDisruptionBudgetSpec: Codable, Sendable, Hashable {
    public var minAvailable: IntOrString?
    public var maxUnavailable: IntOrString?
    public var selector: LabelSelectorSpec?
    public var unhealthyPodEvictionPolicy: String?

    public init(minAvailable: IntOrString? = nil, maxUnavailable: IntOrString? = nil, selector: LabelSelectorSpec? = nil) {
        self.minAvailable = minAvailable
        self.maxUnavailable = maxUnavailable
        self.selector = selector
    }
}

public struct PodDisruptionBudgetStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    /// Pods evicted but not yet gone, by name, with the time of the eviction.
    public var disruptedPods: [String: String]?
    public var disruptionsAllowed: Int32
    public var currentHealthy: Int32
    public var desiredHealthy: Int32
    public var expectedPods: Int32
    public var conditions: [JSONValue]?

    enum CodingKeys: String, CodingKey {
        case observedGeneration, disruptedPods, disruptionsAllowed, currentHealthy, desiredHealthy, expectedPods, conditions
    }

    /// The counts are plain integers in Kubernetes: absent means 0 (clients send `status: {}`).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        observedGeneration = try container.decodeIfPresent(Int64.self, forKey: .observedGeneration)
        disruptedPods = try container.decodeIfPresent([String: String].self, forKey: .disruptedPods)
        disruptionsAllowed = try container.decodeIfPresent(Int32.self, forKey: .disruptionsAllowed) ?? 0
        currentHealthy = try container.decodeIfPresent(Int32.self, forKey: .currentHealthy) ?? 0
        desiredHealthy = try container.decodeIfPresent(Int32.self, forKey: .desiredHealthy) ?? 0
        expectedPods = try container.decodeIfPresent(Int32.self, forKey: .expectedPods) ?? 0
        conditions = try container.decodeIfPresent([JSONValue].self, forKey: .conditions)
    }

    public init(disruptionsAllowed: Int32, currentHealthy: Int32, desiredHealthy: Int32, expectedPods: Int32) {
        self.disruptionsAllowed = disruptionsAllowed
        self.currentHealthy = currentHealthy
        self.desiredHealthy = desiredHealthy
        self.expectedPods = expectedPods
    }
}

extension PodDisruptionBudget: APIResource {
    public static func validate(_ object: PodDisruptionBudget, old: PodDisruptionBudget?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if spec.minAvailable != nil && spec.maxUnavailable != nil {
            errors.invalid("spec", "minAvailable and maxUnavailable", "minAvailable and maxUnavailable cannot be both set")
        }
        for (field, value) in [("minAvailable", spec.minAvailable), ("maxUnavailable", spec.maxUnavailable)] {
            guard let value else { continue }
            switch value {
            case .int(let number) where number < 0:
                errors.invalid("spec.\(field)", String(number), "must be greater than or equal to 0")
            case .string(let text):
                guard text.hasSuffix("%"), let percent = Int(text.dropLast()), (0...100).contains(percent) else {
                    errors.invalid("spec.\(field)", text, "must be an integer or a percentage between 0% and 100%")
                    continue
                }
            default:
                continue
            }
        }
        if let selector = spec.selector { MetaValidation.validateSelector(selector, path: "spec.selector", into: &errors) }
        if let policy = spec.unhealthyPodEvictionPolicy, !["IfHealthyBudget", "AlwaysAllow"].contains(policy) {
            errors.notSupported("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"])
        }
        return errors
    }
}

/// The arithmetic of a budget over the pods it selects, as Kubernetes' disruption controller
/// does it: percentages round up; with an integer `minAvailable` the pods expected are the pods
/// selected, otherwise the sum of their controllers' scale (`expectedPods`), so a Deployment
/// still creating its pods, or one whose pods were deleted, counts all its replicas.
public enum DisruptionBudget {
    /// Evicted pods count as disrupted (not healthy) for this long or until they are gone.
    public static let disruptedPodTimeout: TimeInterval = 120

    /// `scale`: the desired replicas of a pod's controlling owner (nil when unknown); see
    /// `expectedPods`.
    public static func status(_ budget: PodDisruptionBudget, pods: [Pod], now: Date,
                              scale: (OwnerReference, String) -> Int32? = { _, _ in nil }) -> PodDisruptionBudgetStatus {
        let disrupted = activeDisruptions(budget, now: now)
        let expected = expectedPods(budget, pods: pods, scale: scale)
        let healthy = Int32(pods.filter { isHealthy($0) && !disrupted.contains($0.metadata.name ?? "") }.count)
        var desired: Int32 = 0
        if let minimum = budget.spec?.minAvailable {
            desired = resolve(minimum, of: expected)
        } else if let maximum = budget.spec?.maxUnavailable {
            desired = max(0, expected - resolve(maximum, of: expected))
        }
        // Neither set: nothing is required to stay, as in Kubernetes' disruption controller.
        var status = PodDisruptionBudgetStatus(disruptionsAllowed: max(0, healthy - desired), currentHealthy: healthy, desiredHealthy: desired, expectedPods: expected)
        status.observedGeneration = budget.metadata.generation
        if !disrupted.isEmpty {
            status.disruptedPods = (budget.status?.disruptedPods ?? [:]).filter { disrupted.contains($0.key) }
        }
        return status
    }

    /// Kubernetes' `getExpectedPodCount`: the selected pods for an integer `minAvailable`, else
    /// the sum over the pods' distinct controllers of their scale. A pod without a controller,
    /// or whose controller's scale is unknown, counts as itself (Kubernetes refuses to compute
    /// the budget then).
    public static func expectedPods(_ budget: PodDisruptionBudget, pods: [Pod], scale: (OwnerReference, String) -> Int32?) -> Int32 {
        if case .int = budget.spec?.minAvailable { return Int32(pods.count) }
        if budget.spec?.minAvailable == nil && budget.spec?.maxUnavailable == nil { return Int32(pods.count) }
        var controllers: [String: Int32] = [:]
        var uncontrolled: Int32 = 0
        for pod in pods {
            guard let owner = pod.metadata.ownerReferences?.first(where: { $0.controller == true }) else {
                uncontrolled += 1
                continue
            }
            if controllers[owner.uid] != nil { continue }
            if let replicas = scale(owner, pod.metadata.namespace ?? "default") {
                controllers[owner.uid] = replicas
            } else {
                uncontrolled += 1
            }
        }
        return controllers.values.reduce(uncontrolled, +)
    }

    /// The scale that counts for a pod's controller: a ReplicaSet a Deployment controls counts
    /// the Deployment's replicas, as Kubernetes' finders do. `lookup(kind, namespace, name)`
    /// gives an owner's metadata and desired replicas (a DaemonSet: the nodes it should run on).
    public static func controllerScale(_ owner: OwnerReference, namespace: String,
                                       lookup: (String, String, String) -> (meta: ObjectMeta, replicas: Int32)?) -> Int32? {
        guard let found = lookup(owner.kind, namespace, owner.name), found.meta.uid == owner.uid else { return nil }
        if owner.kind == "ReplicaSet", let parent = found.meta.ownerReferences?.first(where: { $0.controller == true }), parent.kind == "Deployment" {
            return controllerScale(parent, namespace: namespace, lookup: lookup)
        }
        return found.replicas
    }

    /// Pods of the selector, in the budget's namespace, not already being deleted.
    public static func selects(_ budget: PodDisruptionBudget, _ pod: Pod) -> Bool {
        guard pod.metadata.namespace == budget.metadata.namespace, pod.metadata.deletionTimestamp == nil else { return false }
        guard let spec = budget.spec?.selector, let selector = try? LabelSelector(spec) else { return false }
        return selector.matches(pod.metadata.labels)
    }

    public static func isHealthy(_ pod: Pod) -> Bool {
        pod.status?.phase == "Running" && (pod.status?.conditions ?? []).contains { $0.type == "Ready" && $0.status == "True" }
    }

    static func activeDisruptions(_ budget: PodDisruptionBudget, now: Date) -> Set<String> {
        Set((budget.status?.disruptedPods ?? [:]).compactMap { name, time in
            guard let at = RFC3339.parse(time), now.timeIntervalSince(at) < disruptedPodTimeout else { return nil }
            return name
        })
    }

    static func resolve(_ value: IntOrString, of total: Int32) -> Int32 {
        switch value {
        case .int(let number): return Int32(clamping: number)
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Double(text.dropLast()) else { return Int32(text) ?? 0 }
            return Int32((Double(total) * percent / 100).rounded(.up))
        }
    }
}
