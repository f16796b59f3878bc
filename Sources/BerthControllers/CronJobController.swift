import BerthClient
import BerthCore
import Foundation
import Logging

/// Makes each CronJob's Jobs at their scheduled times (`CronJobPlanner` decides), keeps its
/// status, and removes finished Jobs past the history limits.
public final class CronJobController: Reconciler {
    public let name = "cronjob"
    public let queue = WorkQueue(name: "cronjob")
    public var workers: Int { 2 }
    let cronJobs: Informer<CronJob>
    let jobs: Informer<Job>
    let api: ResourceAPI
    let logger: Logger

    public init(cronJobs: Informer<CronJob>, jobs: Informer<Job>, api: ResourceAPI, logger: Logger) {
        self.cronJobs = cronJobs
        self.jobs = jobs
        self.api = api
        self.logger = logger
        cronJobs.addHandler { [queue] event in
            if case .updated(let old, let new) = event, old.spec == new.spec, old.metadata.deletionTimestamp == new.metadata.deletionTimestamp { return }
            queue.add(Informer<CronJob>.key(event.object))
        }
        jobs.addHandler { [queue] event in
            guard let owner = event.object.metadata.ownerReferences?.first(where: { $0.controller == true }), owner.kind == "CronJob" else { return }
            if case .updated(let old, let new) = event, old.finished == new.finished { return }
            queue.add(Informer<CronJob>.key(namespace: event.object.metadata.namespace, name: owner.name))
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let cronJob = cronJobs.get(key), let uid = cronJob.metadata.uid, cronJob.metadata.deletionTimestamp == nil else { return }
        let now = Date()
        let plan = CronJobPlanner.plan(cronJob, jobs: jobs.owned(by: uid), now: now)
        let reference = ObjectReferenceValue(kind: "CronJob", apiVersion: "batch/v1", namespace: cronJob.metadata.namespace, name: cronJob.metadata.name ?? "", uid: uid)
        for job in plan.replace + plan.prune {
            try await api.delete(ResourceDescriptor.job, namespace: job.metadata.namespace, name: job.metadata.name ?? "", uid: job.metadata.uid, propagationPolicy: "Background")
            let reason = plan.replace.contains(job) ? "SuccessfulDelete" : "SawCompletedJob"
            await api.event(about: reference, reason: reason, message: "Deleted job \(job.metadata.name ?? "")", component: "cronjob-controller")
        }
        var status = plan.status
        if let time = plan.run {
            let job = CronJobPlanner.newJob(for: cronJob, at: time)
            do throws(BerthError) {
                try await api.create(ResourceDescriptor.job, namespace: cronJob.metadata.namespace, job)
                await api.event(about: reference, reason: "SuccessfulCreate", message: "Created job \(job.metadata.name ?? "")", component: "cronjob-controller")
            } catch {
                // A second attempt for the same time finds its Job already made.
                if error.code != .alreadyExists {
                    await api.event(about: reference, reason: "FailedCreate", message: "Error creating job: \(error.message)", type: "Warning", component: "cronjob-controller")
                    throw error
                }
            }
            let made = ObjectReference(kind: "Job", namespace: job.metadata.namespace, name: job.metadata.name, apiVersion: "batch/v1")
            if !(status.active ?? []).contains(where: { $0.name == made.name }) { status.active = (status.active ?? []) + [made] }
        }
        for event in plan.events {
            await api.event(about: reference, reason: event.reason, message: event.message, type: event.type, component: "cronjob-controller")
        }
        if cronJob.status != status {
            var updated = cronJob
            updated.status = status
            try await api.update(ResourceDescriptor.cronJob, updated, subresource: "status")
        }
        if let recheck = plan.recheckAt {
            // A moment past the minute, so the schedule's time has come when the key runs.
            queue.add(key, after: .milliseconds(Int64(max(0, recheck.timeIntervalSince(now)) * 1000) + 200))
        }
    }
}
