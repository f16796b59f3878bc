import BerthCore
import Foundation

/// What the CronJob controller does next for one CronJob.
public struct CronJobPlan: Sendable {
    public var status: CronJobStatus
    /// The scheduled time to make a Job for now.
    public var run: Date?
    /// Active Jobs to stop first (`concurrencyPolicy: Replace`).
    public var replace: [Job] = []
    /// Finished Jobs beyond the history limits, oldest first.
    public var prune: [Job] = []
    public var events: [(reason: String, message: String, type: String)] = []
    public var recheckAt: Date?
}

/// The CronJob controller's decisions, as Kubernetes' makes them: the newest scheduled time
/// since the last run is started (older missed ones are not replayed), unless it is later than
/// `startingDeadlineSeconds` allows, or `Forbid` and a run is still active; finished Jobs past
/// the history limits go.
public enum CronJobPlanner {
    public static func plan(_ cronJob: CronJob, jobs: [Job], now: Date) -> CronJobPlan {
        var status = cronJob.status ?? CronJobStatus()
        var plan = CronJobPlan(status: status)
        guard let spec = cronJob.spec else { return plan }
        let active = jobs.filter { $0.finished == nil && $0.metadata.deletionTimestamp == nil }
        status.active = active.isEmpty ? nil : active.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }.map { job in
            ObjectReference(kind: "Job", namespace: job.metadata.namespace, name: job.metadata.name, uid: job.metadata.uid, apiVersion: "batch/v1")
        }
        let succeeded = jobs.filter { $0.finished?.type == "Complete" }
        if let last = succeeded.compactMap({ $0.status?.completionTime }).compactMap(RFC3339.parse).max() {
            status.lastSuccessfulTime = RFC3339.seconds(last)
        }
        plan.prune = prune(succeeded, keep: Int(spec.successfulJobsHistoryLimit ?? 3))
            + prune(jobs.filter { $0.finished?.type == "Failed" }, keep: Int(spec.failedJobsHistoryLimit ?? 1))

        func finish() -> CronJobPlan {
            plan.status = status
            return plan
        }
        guard spec.suspend != true, let schedule = try? CronSchedule(spec.schedule) else { return finish() }
        let offset = CronJob.offset(zone: spec.timeZone)
        let since = RFC3339.parse(status.lastScheduleTime ?? cronJob.metadata.creationTimestamp ?? "") ?? now
        plan.recheckAt = schedule.next(after: now, offset: offset)
        guard let due = schedule.latest(after: since, upTo: now, offset: offset) else { return finish() }
        if due.count > 100 {
            plan.events.append(("TooManyMissedTimes", "too many missed start times: \(due.count). Set or decrease .spec.startingDeadlineSeconds or check clock skew", "Warning"))
        }
        if let deadline = spec.startingDeadlineSeconds, due.time.addingTimeInterval(TimeInterval(deadline)) < now {
            plan.events.append(("MissSchedule", "Missed scheduled time to start a job: \(RFC3339.seconds(due.time))", "Warning"))
            status.lastScheduleTime = RFC3339.seconds(due.time)
            return finish()
        }
        if !active.isEmpty {
            switch spec.concurrencyPolicy {
            case "Forbid":
                // The run waits for the active one; it is retried at the next change or minute.
                plan.recheckAt = min(plan.recheckAt ?? now.addingTimeInterval(60), now.addingTimeInterval(10))
                return finish()
            case "Replace":
                plan.replace = active
            default:
                break
            }
        }
        plan.run = due.time
        status.lastScheduleTime = RFC3339.seconds(due.time)
        return finish()
    }

    static func prune(_ finished: [Job], keep: Int) -> [Job] {
        let ordered = finished.sorted { ($0.metadata.creationTimestamp ?? "", $0.metadata.name ?? "") < ($1.metadata.creationTimestamp ?? "", $1.metadata.name ?? "") }
        return Array(ordered.dropLast(max(0, keep)))
    }

    /// The Job for the run at `time`: named after the CronJob and the minute (so a second
    /// attempt for the same time finds it already there), owned by the CronJob.
    public static func newJob(for cronJob: CronJob, at time: Date) -> Job {
        let name = "\(cronJob.metadata.name ?? "cronjob")-\(Int64(time.timeIntervalSince1970) / 60)"
        let template = cronJob.spec?.jobTemplate
        var metadata = ObjectMeta(name: name, namespace: cronJob.metadata.namespace, labels: template?.metadata?.labels, annotations: template?.metadata?.annotations)
        metadata.annotations = (metadata.annotations ?? [:]).merging([CronJob.scheduledTimestampAnnotation: RFC3339.seconds(time)]) { _, new in new }
        metadata.ownerReferences = [OwnerReference(apiVersion: "batch/v1", kind: "CronJob", name: cronJob.metadata.name ?? "", uid: cronJob.metadata.uid ?? "",
                                                   controller: true, blockOwnerDeletion: true)]
        return Job(metadata: metadata, spec: template?.spec)
    }
}
