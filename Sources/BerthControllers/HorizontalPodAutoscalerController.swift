import BerthClient
import BerthCore
import BerthMetrics
import Foundation
import Logging
import Synchronization

/// Keeps each HorizontalPodAutoscaler's target at the replicas its metrics call for: every
/// `syncPeriod` it reads the target's `scale`, its pods and their metrics (`HPAMetricsReader`),
/// takes the largest proposal, stabilizes and rate-limits it (`ScalingBehaviorPlan`), writes
/// the new scale with an Event, and reports the conditions `AbleToScale`, `ScalingActive` and
/// `ScalingLimited` and the current metrics in its status. A metric that cannot be read makes
/// `ScalingActive` False with the reason and nothing is scaled on it.
public final class HorizontalPodAutoscalerController: Reconciler {
    public let name = "horizontalpodautoscaler"
    public let queue = WorkQueue(name: "horizontalpodautoscaler")
    public var workers: Int { 2 }
    let autoscalers: Informer<HorizontalPodAutoscaler>
    let pods: Informer<Pod>
    let api: ResourceAPI
    let reader: HPAMetricsReader
    let syncPeriod: Duration
    let logger: Logger

    /// Per HPA (by uid): its recent recommendations and scale events, for the behaviour windows.
    struct Memory {
        var recommendations: [ScalingBehaviorPlan.Recommendation] = []
        var events: [ScalingBehaviorPlan.ScaleEvent] = []

        mutating func forget(before time: Double) { events.removeAll { $0.time < time } }
    }

    private let memory = Mutex<[String: Memory]>([:])

    public init(autoscalers: Informer<HorizontalPodAutoscaler>, pods: Informer<Pod>, api: ResourceAPI, syncPeriod: Duration = .seconds(3), logger: Logger) {
        self.autoscalers = autoscalers
        self.pods = pods
        self.api = api
        self.reader = HPAMetricsReader(api: api)
        self.syncPeriod = syncPeriod
        self.logger = logger
        autoscalers.addHandler { [queue] event in
            if case .updated(let old, let new) = event, old.spec == new.spec { return }
            queue.add(Informer<HorizontalPodAutoscaler>.key(event.object))
        }
    }

    static let targets: [String: ResourceDescriptor] = ["Deployment": .deployment, "ReplicaSet": .replicaSet]

    public func reconcile(_ key: String) async throws {
        guard let hpa = autoscalers.get(key), let uid = hpa.metadata.uid, hpa.metadata.deletionTimestamp == nil else { return }
        // Every autoscaler is looked at again each period, whatever happens now.
        queue.add(key, after: syncPeriod)
        let namespace = hpa.metadata.namespace ?? "default"
        let reference = ObjectReferenceValue(kind: "HorizontalPodAutoscaler", apiVersion: "autoscaling/v2", namespace: namespace, name: hpa.metadata.name ?? "", uid: uid)
        var status = hpa.status ?? HPAStatus(desiredReplicas: 0)
        status.observedGeneration = hpa.metadata.generation
        let now = Date()
        var conditions = HPAConditions(list: status.conditions ?? [], now: now)
        let target = hpa.spec.scaleTargetRef
        guard let descriptor = Self.targets[target.kind] else {
            conditions.set("AbleToScale", false, "FailedGetScale", "the HPA controller can scale Deployments and ReplicaSets, not \(target.kind)")
            return try await write(hpa, status, conditions)
        }
        let scalePath = "/apis/\(descriptor.group)/\(descriptor.version)/namespaces/\(namespace)/\(descriptor.plural)/\(target.name)/scale"
        let scaleRead = await fetch(scalePath)
        guard case .success(let scale) = scaleRead else {
            let message = scaleRead.failureMessage
            conditions.set("AbleToScale", false, "FailedGetScale", "the HPA controller was unable to get the target's current scale: \(message)")
            await api.event(about: reference, reason: "FailedGetScale", message: message, type: "Warning", component: "horizontal-pod-autoscaler")
            return try await write(hpa, status, conditions)
        }
        let current = scale.value(at: ["spec", "replicas"])?.intValue ?? 0
        status.currentReplicas = Int32(scale.value(at: ["status", "replicas"])?.intValue ?? current)
        let minimum = Int(hpa.spec.minReplicas ?? 1), maximum = Int(hpa.spec.maxReplicas)
        if current == 0 {
            // Scaled to zero by hand: autoscaling is off until someone scales it up again.
            conditions.set("ScalingActive", false, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
            status.desiredReplicas = 0
            return try await write(hpa, status, conditions)
        }
        let selector = (try? LabelSelector(parsing: scale.value(at: ["status", "selector"])?.stringValue ?? "")) ?? LabelSelector()
        let targetPods = pods.list().filter { pod in
            pod.metadata.namespace == namespace && !selector.isEmpty && selector.matches(pod.metadata.labels) && pod.metadata.deletionTimestamp == nil
                && pod.status?.phase != "Failed" && pod.status?.phase != "Succeeded"
        }
        let (proposals, failure, metricStatuses) = await readMetrics(hpa, namespace: namespace, selector: selector, pods: targetPods, current: current)
        status.currentMetrics = metricStatuses
        // As Kubernetes: with some metrics unreadable, scale up on the others but never down.
        let largest = proposals.max(by: { $0.proposal.replicas < $1.proposal.replicas })
        let scalesUp = (largest?.proposal.replicas ?? 0) > current
        guard let best = largest, failure == nil || scalesUp else {
            let reason = failure?.reason ?? "FailedGetResourceMetric"
            let message = failure?.message ?? "no metrics"
            conditions.set("AbleToScale", true, "SucceededGetScale", "the HPA controller was able to get the target's current scale")
            conditions.set("ScalingActive", false, reason, "the HPA was unable to compute the replica count: \(message)")
            if hpa.status?.conditions?.first(where: { $0.type == "ScalingActive" })?.reason != reason {
                await api.event(about: reference, reason: reason, message: message, type: "Warning", component: "horizontal-pod-autoscaler")
            }
            status.desiredReplicas = Int32(current)
            return try await write(hpa, status, conditions)
        }
        let plan = ScalingBehaviorPlan(behavior: hpa.spec.behavior, minimum: minimum, maximum: maximum)
        let seconds = now.timeIntervalSince1970
        var remembered = recalled(uid)
        remembered.forget(before: seconds - 1800)
        let decision = plan.decide(proposed: best.proposal.replicas, current: current, now: seconds, recommendations: &remembered.recommendations,
                                   events: remembered.events)
        conditions.set("ScalingActive", true, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from \(best.reason)")
        if let reason = decision.limitedReason {
            conditions.set("ScalingLimited", true, reason, decision.limitedMessage)
        } else {
            conditions.set("ScalingLimited", false, "DesiredWithinRange", decision.limitedMessage)
        }
        status.desiredReplicas = Int32(decision.replicas)
        if decision.replicas != current {
            if let error = await setScale(descriptor, namespace: namespace, name: target.name, replicas: decision.replicas) {
                conditions.set("AbleToScale", false, "FailedUpdateScale", "the HPA controller was unable to update the target scale: \(error.message)")
                await api.event(about: reference, reason: "FailedRescale", message: error.message, type: "Warning", component: "horizontal-pod-autoscaler")
                remember(uid, remembered)
                return try await write(hpa, status, conditions)
            }
            remembered.events.append(ScalingBehaviorPlan.ScaleEvent(time: seconds, change: decision.replicas - current))
            let direction = decision.replicas > current ? "above" : "below"
            await api.event(about: reference, reason: "SuccessfulRescale",
                            message: "New size: \(decision.replicas); reason: \(best.reason) \(direction) target", component: "horizontal-pod-autoscaler")
            logger.info("autoscaled", metadata: ["hpa": "\(key)", "from": "\(current)", "to": "\(decision.replicas)", "reason": "\(best.reason)"])
            status.lastScaleTime = RFC3339.seconds(now)
            conditions.set("AbleToScale", true, "SucceededRescale", "the HPA controller was able to update the target scale to \(decision.replicas)")
        } else {
            conditions.set("AbleToScale", true, "ReadyForNewScale", "recommended size matches current size")
        }
        remember(uid, remembered)
        try await write(hpa, status, conditions)
    }

    /// Every metric's proposal; the first failure; a status per metric (empty for a failed one).
    private func readMetrics(_ hpa: HorizontalPodAutoscaler, namespace: String, selector: LabelSelector, pods: [Pod], current: Int) async
        -> ([HPAMetricsReader.Outcome], HPAMetricsReader.Failure?, [MetricStatus]) {
        var proposals: [HPAMetricsReader.Outcome] = []
        var failure: HPAMetricsReader.Failure?
        var statuses: [MetricStatus] = []
        for metric in hpa.spec.metrics ?? [] {
            switch await reader.result(metric, namespace: namespace, selector: selector, pods: pods, current: current) {
            case .success(let outcome):
                proposals.append(outcome)
                statuses.append(outcome.status)
            case .failure(let error):
                if failure == nil { failure = error }
                statuses.append(MetricStatus(type: metric.type))
            }
        }
        return (proposals, failure, statuses)
    }

    private func setScale(_ descriptor: ResourceDescriptor, namespace: String, name: String, replicas: Int) async -> BerthError? {
        do throws(BerthError) {
            try await api.mergePatch(descriptor, namespace: namespace, name: name, ["spec": ["replicas": .number(String(replicas))]], subresource: "scale")
            return nil
        } catch {
            return error
        }
    }

    private func fetch(_ path: String) async -> Result<JSONValue, BerthError> {
        do throws(BerthError) {
            return .success(try await api.client.request(.GET, path).checked().json())
        } catch {
            return .failure(error)
        }
    }

    private func recalled(_ uid: String) -> Memory { memory.withLock { $0[uid] } ?? Memory() }

    private func remember(_ uid: String, _ entry: Memory) { memory.withLock { $0[uid] = entry } }

    private func write(_ hpa: HorizontalPodAutoscaler, _ status: HPAStatus, _ conditions: HPAConditions) async throws {
        var status = status
        status.conditions = conditions.list
        guard hpa.status != status else { return }
        var updated = hpa
        updated.status = status
        do throws(BerthError) {
            try await api.update(ResourceDescriptor.horizontalPodAutoscaler, updated, subresource: "status")
        } catch {
            // A conflict: the next period writes it from the fresh object.
            if error.code != .conflict { throw error }
        }
    }

    /// Forgets autoscalers that are gone.
    func forget(uid: String) { memory.withLock { _ = $0.removeValue(forKey: uid) } }
}

/// The HPA's conditions in Kubernetes' order; a condition's transition time moves only when
/// its status changes.
struct HPAConditions {
    var list: [Condition]
    let now: Date

    static let order = ["AbleToScale", "ScalingActive", "ScalingLimited"]

    mutating func set(_ type: String, _ value: Bool, _ reason: String, _ message: String) {
        let text = value ? "True" : "False"
        let previous = list.first { $0.type == type }
        let changed = previous?.status != text
        list.removeAll { $0.type == type }
        list.append(Condition(type: type, status: text, lastTransitionTime: changed ? RFC3339.seconds(now) : previous?.lastTransitionTime, reason: reason, message: message))
        list.sort { (Self.order.firstIndex(of: $0.type) ?? 9) < (Self.order.firstIndex(of: $1.type) ?? 9) }
    }
}

extension Result where Failure == BerthError {
    var failureMessage: String {
        if case .failure(let error) = self { return error.message }
        return ""
    }
}
