import Foundation

/// One pod as the autoscaler sees it for one metric.
public struct PodMetricSample: Sendable, Equatable {
    public var name: String
    /// Ready, and (for CPU) past its start-up period: its usage counts as it is.
    public var countsAsReady: Bool
    /// The measured value (cores, bytes, or the metric's value); nil: no sample for the pod.
    public var usage: Double?
    /// The pod's request of the resource (Utilization targets only).
    public var request: Double?

    public init(name: String, countsAsReady: Bool = true, usage: Double?, request: Double? = nil) {
        self.name = name
        self.countsAsReady = countsAsReady
        self.usage = usage
        self.request = request
    }
}

/// What one metric proposes: a replica count and the current value it was computed from.
public struct ReplicaProposal: Sendable, Equatable {
    public var replicas: Int
    /// `averageUtilization` (percent) for Utilization targets.
    public var utilization: Int?
    /// The average per pod (AverageValue targets) or the value (Value targets).
    public var value: Double

    public init(replicas: Int, utilization: Int? = nil, value: Double) {
        self.replicas = replicas
        self.utilization = utilization
        self.value = value
    }
}

/// Kubernetes' replica calculator (`pkg/controller/podautoscaler/replica_calculator.go`), pure:
/// the ratio of current to target, a 10 % tolerance band in which nothing changes, and the
/// conservative treatment of pods without samples (assumed idle when scaling up, at target
/// when scaling down) and of pods not yet ready (assumed idle for a scale-up), so a scaling
/// decision is never driven by pods that have not reported.
public enum ReplicaCalculator {
    public static let defaultTolerance = 0.1

    public enum Failure: Error, Equatable {
        case noSamples
        case missingRequest(pod: String)
    }

    /// A Resource (or ContainerResource) metric with a Utilization target in percent.
    public static func utilization(current: Int, pods: [PodMetricSample], targetPercent: Int,
                                   tolerance: Double = defaultTolerance) throws(Failure) -> ReplicaProposal {
        for pod in pods where pod.usage != nil && (pod.request ?? 0) <= 0 { throw .missingRequest(pod: pod.name) }
        let ratio: ([PodMetricSample]) -> (usage: Double, utilization: Double) = { samples in
            let used = samples.reduce(0) { $0 + ($1.usage ?? 0) }
            let requested = samples.reduce(0) { $0 + ($1.request ?? 0) }
            let utilization = requested > 0 ? used * 100 / requested : 0
            return (utilization / Double(targetPercent), utilization)
        }
        return try propose(current: current, pods: pods, tolerance: tolerance, ratio: ratio,
                           fallbackAtTarget: { pod in pod.request ?? 0 }) { utilization in Int(utilization.rounded(.down)) }
    }

    /// A per-pod average against an AverageValue target (Resource AverageValue, Pods metrics).
    public static func averageValue(current: Int, pods: [PodMetricSample], target: Double,
                                    tolerance: Double = defaultTolerance) throws(Failure) -> ReplicaProposal {
        let ratio: ([PodMetricSample]) -> (usage: Double, utilization: Double) = { samples in
            let average = samples.isEmpty ? 0 : samples.reduce(0) { $0 + ($1.usage ?? 0) } / Double(samples.count)
            return (average / target, average)
        }
        return try propose(current: current, pods: pods, tolerance: tolerance, ratio: ratio, fallbackAtTarget: { _ in target }) { _ in nil }
    }

    /// One value for the whole workload (an Object or External metric) against a Value target:
    /// the ready pods scale by the ratio.
    public static func value(current: Int, readyPods: Int, value: Double, target: Double, tolerance: Double = defaultTolerance) -> ReplicaProposal {
        let ratio = value / target
        if abs(ratio - 1) <= tolerance { return ReplicaProposal(replicas: current, value: value) }
        return ReplicaProposal(replicas: Int((ratio * Double(readyPods)).rounded(.up)), value: value)
    }

    /// One value for the whole workload against an AverageValue target: as many replicas as
    /// put each at the target.
    public static func totalOverAverage(current: Int, value: Double, targetAverage: Double, tolerance: Double = defaultTolerance) -> ReplicaProposal {
        let average = value / Double(max(current, 1))
        if abs(value / (targetAverage * Double(max(current, 1))) - 1) <= tolerance { return ReplicaProposal(replicas: current, value: average) }
        return ReplicaProposal(replicas: Int((value / targetAverage).rounded(.up)), value: average)
    }

    static func propose(current: Int, pods: [PodMetricSample], tolerance: Double,
                        ratio: ([PodMetricSample]) -> (usage: Double, utilization: Double),
                        fallbackAtTarget: (PodMetricSample) -> Double,
                        reportUtilization: (Double) -> Int?) throws(Failure) -> ReplicaProposal {
        let measured = pods.filter { $0.usage != nil && $0.countsAsReady }
        let missing = pods.filter { $0.usage == nil }
        let unready = pods.filter { $0.usage != nil && !$0.countsAsReady }
        guard !measured.isEmpty else { throw .noSamples }
        let (usageRatio, utilization) = ratio(measured)
        let reported = ReplicaProposal(replicas: current, utilization: reportUtilization(utilization), value: utilization)
        let scaleUpWithUnready = !unready.isEmpty && usageRatio > 1
        if !scaleUpWithUnready && missing.isEmpty {
            if abs(usageRatio - 1) <= tolerance { return reported }
            return ReplicaProposal(replicas: Int((usageRatio * Double(measured.count)).rounded(.up)), utilization: reported.utilization, value: utilization)
        }
        var assumed = measured
        for pod in missing {
            var filled = pod
            filled.usage = usageRatio < 1 ? fallbackAtTarget(pod) : 0
            assumed.append(filled)
        }
        if scaleUpWithUnready {
            for pod in unready {
                var idle = pod
                idle.usage = 0
                assumed.append(idle)
            }
        }
        let newRatio = ratio(assumed).usage
        if abs(newRatio - 1) <= tolerance || (usageRatio < 1 && newRatio > 1) || (usageRatio > 1 && newRatio < 1) { return reported }
        let replicas = Int((newRatio * Double(assumed.count)).rounded(.up))
        if (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current) { return reported }
        return ReplicaProposal(replicas: replicas, utilization: reported.utilization, value: utilization)
    }
}
