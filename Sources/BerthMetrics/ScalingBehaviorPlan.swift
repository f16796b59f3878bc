import BerthCore

/// Kubernetes' HPA behaviour (`normalizeDesiredReplicasWithBehaviors`), pure: a proposal is
/// first stabilized against the recommendations of the windows (a scale-up goes only as high
/// as every recommendation of the up window allows; a scale-down only as low as the highest
/// of the down window), then limited by the policies' rate over their periods, then by the
/// bounds. The caller keeps `recommendations` and `events` between runs.
public struct ScalingBehaviorPlan: Sendable {
    public struct Recommendation: Sendable, Equatable {
        public var time: Double
        public var replicas: Int
        public init(time: Double, replicas: Int) { self.time = time; self.replicas = replicas }
    }

    /// A change made (positive: pods added) at a time.
    public struct ScaleEvent: Sendable, Equatable {
        public var time: Double
        public var change: Int
        public init(time: Double, change: Int) { self.time = time; self.change = change }
    }

    public struct Decision: Sendable, Equatable {
        public var replicas: Int
        /// `ScalingLimited`: the reason when a bound or a policy held the count back, nil
        /// (DesiredWithinRange) otherwise.
        public var limitedReason: String?
        public var limitedMessage: String
    }

    public let scaleUp: HPAScalingRules
    public let scaleDown: HPAScalingRules
    public let minimum: Int
    public let maximum: Int

    public init(behavior: HPABehavior?, minimum: Int, maximum: Int) {
        scaleUp = HPAScalingRules.defaulted(behavior?.scaleUp, up: true)
        scaleDown = HPAScalingRules.defaulted(behavior?.scaleDown, up: false)
        self.minimum = minimum
        self.maximum = maximum
    }

    /// The replicas to set now for a `proposed` count, given the current count. Appends the
    /// proposal to `recommendations` and forgets what has left the longest window.
    public func decide(proposed: Int, current: Int, now: Double, recommendations: inout [Recommendation], events: [ScaleEvent]) -> Decision {
        let stabilized = stabilize(proposed: proposed, current: current, now: now, recommendations: recommendations)
        let longest = Double(max(scaleUp.stabilizationWindowSeconds ?? 0, scaleDown.stabilizationWindowSeconds ?? 0))
        recommendations.removeAll { $0.time < now - longest }
        recommendations.append(Recommendation(time: now, replicas: proposed))
        return limit(stabilized, current: current, now: now, events: events)
    }

    func stabilize(proposed: Int, current: Int, now: Double, recommendations: [Recommendation]) -> Int {
        var up = proposed, down = proposed
        let upWindow = Double(scaleUp.stabilizationWindowSeconds ?? 0), downWindow = Double(scaleDown.stabilizationWindowSeconds ?? 300)
        for recommendation in recommendations {
            if recommendation.time > now - upWindow { up = min(up, recommendation.replicas) }
            if recommendation.time > now - downWindow { down = max(down, recommendation.replicas) }
        }
        var result = current
        if result < up { result = up }
        if result > down { result = down }
        return result
    }

    func limit(_ desired: Int, current: Int, now: Double, events: [ScaleEvent]) -> Decision {
        if desired > current {
            let rateLimit = max(current, upLimit(current: current, now: now, events: events))
            if maximum > rateLimit, desired > rateLimit {
                return Decision(replicas: rateLimit, limitedReason: "ScaleUpLimit", limitedMessage: "the desired replica count is increasing faster than the maximum scale rate")
            }
            if desired > maximum {
                return Decision(replicas: maximum, limitedReason: "TooManyReplicas", limitedMessage: "the desired replica count is more than the maximum replica count")
            }
        } else if desired < current {
            let rateLimit = min(current, downLimit(current: current, now: now, events: events))
            if minimum < rateLimit, desired < rateLimit {
                return Decision(replicas: rateLimit, limitedReason: "ScaleDownLimit", limitedMessage: "the desired replica count is decreasing faster than the maximum scale rate")
            }
            if desired < minimum {
                return Decision(replicas: minimum, limitedReason: "TooFewReplicas", limitedMessage: "the desired replica count is less than the minimum replica count")
            }
        }
        if desired > maximum { return Decision(replicas: maximum, limitedReason: "TooManyReplicas", limitedMessage: "the desired replica count is more than the maximum replica count") }
        if desired < minimum { return Decision(replicas: minimum, limitedReason: "TooFewReplicas", limitedMessage: "the desired replica count is less than the minimum replica count") }
        return Decision(replicas: desired, limitedReason: nil, limitedMessage: "the desired count is within the acceptable range")
    }

    func upLimit(current: Int, now: Double, events: [ScaleEvent]) -> Int {
        if scaleUp.selectPolicy == "Disabled" { return current }
        let select = scaleUp.selectPolicy ?? "Max"
        var result = select == "Min" ? Int.max : Int.min
        for policy in scaleUp.policies ?? [] {
            let added = events.filter { $0.change > 0 && $0.time > now - Double(policy.periodSeconds) }.reduce(0) { $0 + $1.change }
            let start = current - added
            let proposed = policy.type == "Pods" ? start + Int(policy.value) : Int((Double(start) * (1 + Double(policy.value) / 100)).rounded(.up))
            result = select == "Min" ? min(result, proposed) : max(result, proposed)
        }
        return result == Int.min || result == Int.max ? current : result
    }

    func downLimit(current: Int, now: Double, events: [ScaleEvent]) -> Int {
        if scaleDown.selectPolicy == "Disabled" { return current }
        let select = scaleDown.selectPolicy ?? "Max"
        var result = select == "Min" ? Int.min : Int.max
        for policy in scaleDown.policies ?? [] {
            let removed = events.filter { $0.change < 0 && $0.time > now - Double(policy.periodSeconds) }.reduce(0) { $0 - $1.change }
            let start = current + removed
            let proposed = policy.type == "Pods" ? start - Int(policy.value) : Int((Double(start) * (1 - Double(policy.value) / 100)).rounded(.down))
            result = select == "Min" ? max(result, proposed) : min(result, proposed)
        }
        return result == Int.min || result == Int.max ? current : result
    }
}
