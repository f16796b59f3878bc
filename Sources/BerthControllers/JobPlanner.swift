import BerthCore
import Foundation

/// What the Job controller does next for one Job, decided from the Job and its pods alone.
public struct JobPlan: Sendable {
    public var status: JobStatus
    /// Pods to create: `nil` for a NonIndexed Job, else the completion index.
    public var create: [Int?] = []
    public var delete: [Pod] = []
    /// Pods whose outcome the new status records: their tracking finalizer can go once it is stored.
    public var releaseFinalizers: [Pod] = []
    /// `ttlSecondsAfterFinished` has passed.
    public var deleteJob = false
    public var events: [(reason: String, message: String, type: String)] = []
    public var recheckAt: Date?
}

/// The Job controller's decisions, as Kubernetes' job controller makes them: pods are counted
/// through `status.uncountedTerminatedPods` and a finalizer, so a finished pod that someone
/// deletes still counts; more than `backoffLimit` failures (pod failures, and container restarts
/// under `restartPolicy: OnFailure`) or `activeDeadlineSeconds` fail the Job; replacements after
/// failures wait 10 s, 20 s, 40 s … (at most 6 min).
public enum JobPlanner {
    public static let backoffBase: TimeInterval = 10
    public static let backoffMaximum: TimeInterval = 360

    enum Outcome { case succeeded, failed }

    public static func plan(_ job: Job, pods: [Pod], now: Date, mayChangePods: Bool) -> JobPlan {
        let spec = job.spec ?? JobSpec(template: PodTemplateSpec())
        var status = job.status ?? JobStatus()
        var plan = JobPlan(status: status)
        let stamp = RFC3339.seconds(now)
        let indexed = spec.completionMode == "Indexed"

        // Outcomes: pods that finished and still hold the finalizer become uncounted; uncounted
        // pods that lost it (or are gone) move into the totals.
        var uncountedSucceeded = status.uncountedTerminatedPods?.succeeded ?? []
        var uncountedFailed = status.uncountedTerminatedPods?.failed ?? []
        var completed = IndexRanges.parse(status.completedIndexes)
        var active: [Pod] = []
        var terminating = 0
        var lastFailure: Date?
        var restarts = 0
        var policyFailure: (reason: String, message: String)?
        for pod in pods {
            let uid = pod.metadata.uid ?? ""
            let outcome = Self.outcome(pod, now: now)
            if outcome == .succeeded, let index = Self.index(pod) { completed.insert(index) }
            if outcome == .failed {
                // `podFailurePolicy`: the first matching rule fails the Job, or makes the failure not count.
                let rule = Job.matchingRule(spec.podFailurePolicy, pod)
                if rule?.rule.action == "FailJob", policyFailure == nil { policyFailure = ("PodFailurePolicy", rule?.detail ?? "") }
                if rule?.rule.action == "Ignore" {
                    if Self.holdsFinalizer(pod) { plan.releaseFinalizers.append(pod) }
                    continue
                }
                lastFailure = max(lastFailure ?? .distantPast, Self.finishTime(pod))
            }
            guard let outcome else {
                if pod.metadata.deletionTimestamp == nil {
                    active.append(pod)
                    if spec.template.spec?.restartPolicy == "OnFailure" {
                        restarts += (pod.status?.containerStatuses ?? []).reduce(0) { $0 + Int($1.restartCount) }
                    }
                } else {
                    terminating += 1
                }
                continue
            }
            guard Self.holdsFinalizer(pod) else { continue }
            switch outcome {
            case .succeeded: if !uncountedSucceeded.contains(uid) { uncountedSucceeded.append(uid) }
            case .failed: if !uncountedFailed.contains(uid) { uncountedFailed.append(uid) }
            }
            plan.releaseFinalizers.append(pod)
        }
        let holding = Set(pods.filter(Self.holdsFinalizer).compactMap(\.metadata.uid))
        var succeeded = Int(status.succeeded ?? 0)
        var failed = Int(status.failed ?? 0)
        uncountedSucceeded.removeAll { uid in
            guard !holding.contains(uid) else { return false }
            succeeded += 1
            return true
        }
        uncountedFailed.removeAll { uid in
            guard !holding.contains(uid) else { return false }
            failed += 1
            return true
        }
        let succeededTotal = succeeded + uncountedSucceeded.count
        let failedTotal = failed + uncountedFailed.count
        let allCounted = uncountedSucceeded.isEmpty && uncountedFailed.isEmpty

        func setCondition(_ type: String, _ value: String, reason: String, message: String) -> Bool {
            var conditions = status.conditions ?? []
            if let index = conditions.firstIndex(where: { $0.type == type }) {
                guard conditions[index].status != value else { return false }
                conditions[index] = JobCondition(type: type, status: value, reason: reason, message: message, at: stamp)
            } else {
                conditions.append(JobCondition(type: type, status: value, reason: reason, message: message, at: stamp))
            }
            status.conditions = conditions
            return true
        }
        func has(_ type: String) -> Bool { status.conditions?.contains { $0.type == type && $0.status == "True" } ?? false }

        let completions = spec.completions.map(Int.init)
        let parallelism = Int(spec.parallelism ?? 1)
        var stopping = false
        if job.finished != nil {
            stopping = true
        } else if spec.suspend == true {
            stopping = true
            if setCondition("Suspended", "True", reason: "JobSuspended", message: "Job suspended") {
                plan.events.append(("Suspended", "Job suspended", "Normal"))
            }
        } else {
            if has("Suspended"), setCondition("Suspended", "False", reason: "JobResumed", message: "Job resumed") {
                plan.events.append(("Resumed", "Job resumed", "Normal"))
                status.startTime = stamp
            }
            if status.startTime == nil { status.startTime = stamp }
            let start = RFC3339.parse(status.startTime ?? stamp) ?? now
            let succeededEnough: Bool
            if indexed {
                succeededEnough = completed.count >= (completions ?? 0)
            } else if let completions {
                succeededEnough = succeededTotal >= completions
            } else {
                succeededEnough = succeededTotal > 0 && active.isEmpty
            }
            var failure: (reason: String, message: String)?
            if has("FailureTarget") {
                let target = status.conditions?.first { $0.type == "FailureTarget" }
                failure = (target?.reason ?? "BackoffLimitExceeded", target?.message ?? "")
            } else if succeededEnough || has("SuccessCriteriaMet") {
                failure = nil
            } else if let policyFailure {
                failure = policyFailure
            } else if failedTotal + restarts > Int(spec.backoffLimit ?? 6) {
                failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
            } else if let deadline = spec.activeDeadlineSeconds {
                let end = start.addingTimeInterval(TimeInterval(deadline))
                if end <= now {
                    failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
                } else {
                    plan.recheckAt = end
                }
            }
            if let failure {
                stopping = true
                _ = setCondition("FailureTarget", "True", reason: failure.reason, message: failure.message)
                if active.isEmpty && terminating == 0 && allCounted && setCondition("Failed", "True", reason: failure.reason, message: failure.message) {
                    plan.events.append((failure.reason, failure.message, "Warning"))
                }
            } else if succeededEnough || has("SuccessCriteriaMet") {
                stopping = true
                _ = setCondition("SuccessCriteriaMet", "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods")
                if active.isEmpty && terminating == 0 && allCounted && setCondition("Complete", "True", reason: "CompletionsReached", message: "Reached expected number of succeeded pods") {
                    status.completionTime = stamp
                    plan.events.append(("Completed", "Job completed", "Normal"))
                }
            }
        }

        if mayChangePods {
            if stopping {
                plan.delete = active
            } else {
                // A terminating pod still runs: with `podReplacementPolicy: Failed` it holds its place.
                let waiting = spec.podReplacementPolicy == "Failed" ? terminating : 0
                var room = max(0, parallelism - active.count - waiting)
                if let lastFailure, failedTotal > 0 {
                    let delay = min(backoffMaximum, backoffBase * pow(2, Double(min(failedTotal - 1, 10))))
                    let retryAt = lastFailure.addingTimeInterval(delay)
                    if retryAt > now {
                        room = 0
                        plan.recheckAt = min(plan.recheckAt ?? retryAt, retryAt)
                    }
                }
                if indexed {
                    let running = Set(active.compactMap(Self.index))
                    let missing = (0..<(completions ?? 0)).filter { !completed.contains($0) && !running.contains($0) }
                    plan.create = missing.prefix(room).map { $0 }
                    // Two pods of one index: the newer goes.
                    var seen = Set<Int>()
                    for pod in active.sorted(by: { ($0.metadata.creationTimestamp ?? "") < ($1.metadata.creationTimestamp ?? "") }) {
                        guard let index = Self.index(pod) else { plan.delete.append(pod); continue }
                        if !seen.insert(index).inserted || completed.contains(index) { plan.delete.append(pod) }
                    }
                } else {
                    let wanted = completions.map { max(0, min(parallelism, $0 - succeededTotal)) } ?? (succeededTotal > 0 ? 0 : parallelism)
                    plan.create = Array(repeating: nil, count: max(0, min(room, wanted - active.count)))
                    if active.count > wanted {
                        // Excess pods go, the ones furthest from done first: not ready, then newest.
                        let ranked = active.sorted { a, b in
                            let (readyA, readyB) = (PodState.isReady(a), PodState.isReady(b))
                            if readyA != readyB { return !readyA }
                            return (a.metadata.creationTimestamp ?? "") > (b.metadata.creationTimestamp ?? "")
                        }
                        plan.delete = Array(ranked.prefix(active.count - wanted))
                    }
                }
            }
        }

        if let finished = job.finished, let ttl = job.spec?.ttlSecondsAfterFinished {
            let at = (RFC3339.parse(finished.lastTransitionTime ?? stamp) ?? now).addingTimeInterval(TimeInterval(ttl))
            if at <= now { plan.deleteJob = true } else { plan.recheckAt = min(plan.recheckAt ?? at, at) }
        }

        status.active = Int32(active.count)
        status.ready = Int32(active.filter(PodState.isReady).count)
        status.terminating = Int32(terminating)
        status.succeeded = Int32(succeeded)
        status.failed = Int32(failed)
        status.completedIndexes = indexed ? IndexRanges.format(completed) : nil
        status.uncountedTerminatedPods = UncountedTerminatedPods(succeeded: uncountedSucceeded.isEmpty ? nil : uncountedSucceeded,
                                                                 failed: uncountedFailed.isEmpty ? nil : uncountedFailed)
        if status.uncountedTerminatedPods == UncountedTerminatedPods() { status.uncountedTerminatedPods = nil }
        plan.status = status
        return plan
    }

    /// Succeeded, failed, or still running (`nil`). A pod deleted before it finished counts as
    /// failed once its grace period is over, or at once when it never reached a node.
    static func outcome(_ pod: Pod, now: Date) -> Outcome? {
        switch pod.status?.phase {
        case "Succeeded": return .succeeded
        case "Failed": return .failed
        default:
            guard let deletion = pod.metadata.deletionTimestamp else { return nil }
            if pod.spec?.nodeName == nil { return .failed }
            return (RFC3339.parse(deletion) ?? now) <= now ? .failed : nil
        }
    }

    static func holdsFinalizer(_ pod: Pod) -> Bool { pod.metadata.finalizers?.contains(Job.trackingFinalizer) ?? false }

    static func index(_ pod: Pod) -> Int? { pod.metadata.annotations?[Job.completionIndexAnnotation].flatMap { Int($0) } }

    static func finishTime(_ pod: Pod) -> Date {
        let finished = (pod.status?.containerStatuses ?? []).compactMap { $0.state?.terminated?.finishedAt }.compactMap(RFC3339.parse).max()
        return finished ?? RFC3339.parse(pod.metadata.deletionTimestamp ?? pod.metadata.creationTimestamp ?? "") ?? .distantPast
    }

    /// The pod for one completion (an index for Indexed Jobs): the template, owned by the Job,
    /// holding the tracking finalizer.
    public static func newPod(for job: Job, index: Int?) -> Pod {
        let name = job.metadata.name ?? "job"
        let template = job.spec?.template
        var metadata = ObjectMeta(namespace: job.metadata.namespace, labels: template?.metadata?.labels, annotations: template?.metadata?.annotations)
        metadata.generateName = index.map { "\(name)-\($0)-" } ?? "\(name)-"
        metadata.finalizers = (template?.metadata?.finalizers ?? []) + [Job.trackingFinalizer]
        metadata.ownerReferences = [OwnerReference(apiVersion: "batch/v1", kind: "Job", name: name, uid: job.metadata.uid ?? "", controller: true, blockOwnerDeletion: true)]
        var spec = template?.spec
        if let index {
            metadata.annotations = (metadata.annotations ?? [:]).merging([Job.completionIndexAnnotation: String(index)]) { _, new in new }
            metadata.labels = (metadata.labels ?? [:]).merging([Job.completionIndexAnnotation: String(index)]) { _, new in new }
            var variable = EnvVar(name: "JOB_COMPLETION_INDEX")
            variable.valueFrom = EnvVarSource(fieldRef: ObjectFieldSelector(fieldPath: "metadata.annotations['\(Job.completionIndexAnnotation)']"))
            if var podSpec = spec {
                for position in podSpec.containers.indices { podSpec.containers[position].env = (podSpec.containers[position].env ?? []) + [variable] }
                if var initContainers = podSpec.initContainers {
                    for position in initContainers.indices { initContainers[position].env = (initContainers[position].env ?? []) + [variable] }
                    podSpec.initContainers = initContainers
                }
                if podSpec.hostname == nil { podSpec.hostname = "\(name)-\(index)" }
                spec = podSpec
            }
        }
        return Pod(metadata: metadata, spec: spec)
    }
}

/// Sets of indexes written as Kubernetes writes `completedIndexes`: `0,2-4,7`.
enum IndexRanges {
    static func parse(_ text: String?) -> Set<Int> {
        var indexes = Set<Int>()
        for part in (text ?? "").split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            if bounds.count == 1 { indexes.insert(bounds[0]) }
            if bounds.count == 2, bounds[0] <= bounds[1] { indexes.formUnion(bounds[0]...bounds[1]) }
        }
        return indexes
    }

    static func format(_ indexes: Set<Int>) -> String? {
        guard !indexes.isEmpty else { return nil }
        var parts: [String] = []
        var sorted = indexes.sorted()[...]
        while let first = sorted.first {
            var last = first
            sorted = sorted.dropFirst()
            while let next = sorted.first, next == last + 1 {
                last = next
                sorted = sorted.dropFirst()
            }
            parts.append(first == last ? "\(first)" : "\(first)-\(last)")
        }
        return parts.joined(separator: ",")
    }
}
