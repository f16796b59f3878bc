@testable import BerthControllers
import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("CronJob planner", .blockingAllowed)
struct CronJobPlannerTests {
    let now = RFC3339.parse("2026-12-01T10:07:20Z")!

    func cronJob(_ schedule: String = "*/5 * * * *", policy: String = "Allow", created: String = "2026-12-01T10:00:30Z") -> CronJob {
        var spec = JobSpec(template: PodTemplateSpec(spec: PodSpec(containers: [Container(name: "main", image: "busybox")], restartPolicy: "Never")))
        spec.backoffLimit = 0
        var cron = CronJob(metadata: ObjectMeta(name: "tick", namespace: "default"), spec: CronJobSpec(schedule: schedule, jobTemplate: JobTemplateSpec(spec: spec)))
        cron.metadata.uid = "cron-uid"
        cron.metadata.creationTimestamp = created
        cron.spec?.concurrencyPolicy = policy
        CronJob.applyDefaults(&cron)
        return cron
    }

    func job(_ name: String, created: String, finished: String? = nil) -> Job {
        var job = Job(metadata: ObjectMeta(name: name, namespace: "default"), spec: nil)
        job.metadata.uid = "uid-\(name)"
        job.metadata.creationTimestamp = created
        if let finished {
            job.status = JobStatus()
            job.status?.completionTime = created
            job.status?.conditions = [JobCondition(type: finished, status: "True", reason: nil, message: nil, at: created)]
        }
        return job
    }

    @Test func runsTheNewestDueTimeOnce() throws {
        let cron = cronJob()
        let plan = CronJobPlanner.plan(cron, jobs: [], now: now)
        #expect(plan.run == RFC3339.parse("2026-12-01T10:05:00Z"))
        #expect(plan.status.lastScheduleTime == "2026-12-01T10:05:00Z")
        #expect(plan.recheckAt == RFC3339.parse("2026-12-01T10:10:00Z"))
        let made = CronJobPlanner.newJob(for: cron, at: try #require(plan.run))
        #expect(made.metadata.name == "tick-\(Int(plan.run!.timeIntervalSince1970) / 60)")
        #expect(made.metadata.ownerReferences?.first?.kind == "CronJob" && made.metadata.annotations?[CronJob.scheduledTimestampAnnotation] == "2026-12-01T10:05:00Z")
        var ran = cron
        ran.status = plan.status
        #expect(CronJobPlanner.plan(ran, jobs: [], now: now).run == nil)
    }

    @Test func concurrencyPoliciesAndDeadlines() {
        let running = job("tick-1", created: "2026-12-01T10:00:00Z")
        #expect(CronJobPlanner.plan(cronJob(policy: "Forbid"), jobs: [running], now: now).run == nil)
        let replace = CronJobPlanner.plan(cronJob(policy: "Replace"), jobs: [running], now: now)
        #expect(replace.run != nil && replace.replace.map(\.metadata.name) == ["tick-1"])
        #expect(CronJobPlanner.plan(cronJob(), jobs: [running], now: now).run != nil)
        var late = cronJob()
        late.spec?.startingDeadlineSeconds = 60
        let missed = CronJobPlanner.plan(late, jobs: [], now: now)
        #expect(missed.run == nil && missed.events.map(\.reason) == ["MissSchedule"])
        var suspended = cronJob()
        suspended.spec?.suspend = true
        #expect(CronJobPlanner.plan(suspended, jobs: [], now: now).run == nil)
    }

    @Test func statusAndHistoryLimits() {
        let jobs = (1...5).map { job("ok-\($0)", created: "2026-12-01T09:0\($0):00Z", finished: "Complete") }
            + [job("bad-1", created: "2026-12-01T09:01:00Z", finished: "Failed"), job("bad-2", created: "2026-12-01T09:02:00Z", finished: "Failed"),
               job("live", created: "2026-12-01T10:00:00Z")]
        let plan = CronJobPlanner.plan(cronJob(), jobs: jobs, now: now)
        #expect(plan.prune.map(\.metadata.name) == ["ok-1", "ok-2", "bad-1"])
        #expect(plan.status.active?.map(\.name) == ["live"])
        #expect(plan.status.lastSuccessfulTime == "2026-12-01T09:05:00Z")
    }

    @Test func validation() {
        var bad = cronJob("every minute")
        bad.spec?.timeZone = "Mars/Olympus"
        bad.spec?.concurrencyPolicy = "Sometimes"
        bad.spec?.jobTemplate.spec?.template.spec?.restartPolicy = "Always"
        let fields = CronJob.validate(bad, old: nil).causes.compactMap(\.field)
        #expect(fields == ["spec.schedule", "spec.timeZone", "spec.concurrencyPolicy", "spec.jobTemplate.spec.template.spec.restartPolicy"])
        #expect(CronJob.validate(cronJob(), old: nil).causes.isEmpty)
    }
}
