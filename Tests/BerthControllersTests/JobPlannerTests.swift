@testable import BerthControllers
import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("Job planner", .blockingAllowed)
struct JobPlannerTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func job(completions: Int32? = 1, parallelism: Int32? = 1, backoffLimit: Int32 = 6, indexed: Bool = false) -> Job {
        var spec = JobSpec(template: PodTemplateSpec(spec: PodSpec(containers: [Container(name: "main", image: "busybox")])))
        spec.completions = completions
        spec.parallelism = parallelism
        spec.backoffLimit = backoffLimit
        spec.template.spec?.restartPolicy = "Never"
        if indexed { spec.completionMode = "Indexed" }
        var metadata = ObjectMeta(name: "work", namespace: "default")
        metadata.uid = "job-uid"
        var job = Job(metadata: metadata, spec: spec)
        Job.applyDefaults(&job)
        return job
    }

    /// A pod of `job` in `phase`, still holding the tracking finalizer unless `counted`.
    func pod(_ name: String, of job: Job, phase: String, index: Int? = nil, counted: Bool = false, finishedAgo: TimeInterval = 100) -> Pod {
        var pod = JobPlanner.newPod(for: job, index: index)
        pod.metadata.name = name
        pod.metadata.uid = "uid-\(name)"
        pod.metadata.creationTimestamp = RFC3339.seconds(now.addingTimeInterval(-200))
        pod.spec?.nodeName = "n1"
        if counted { pod.metadata.finalizers = [] }
        var status = PodStatus()
        status.phase = phase
        if phase == "Failed" || phase == "Succeeded" {
            var terminated = ContainerStateTerminated(exitCode: phase == "Failed" ? 1 : 0)
            terminated.finishedAt = RFC3339.seconds(now.addingTimeInterval(-finishedAgo))
            var container = ContainerStatus(name: "main", image: "busybox")
            container.state = ContainerState(terminated: terminated)
            status.containerStatuses = [container]
        }
        pod.status = status
        return pod
    }

    func conditions(_ plan: JobPlan) -> [String] { (plan.status.conditions ?? []).filter { $0.status == "True" }.map(\.type) }

    @Test func defaultsSelectorLabelsAndValidation() {
        let job = job()
        #expect(job.spec?.selector?.matchLabels == [Job.controllerUIDLabel: "job-uid"])
        #expect(job.spec?.template.metadata?.labels?[Job.jobNameLabel] == "work")
        #expect(job.spec?.backoffLimit == 6 && job.spec?.completionMode == "NonIndexed")
        #expect(Job.validate(job, old: nil).causes.isEmpty)
        var always = job
        always.spec?.template.spec?.restartPolicy = "Always"
        #expect(Job.validate(always, old: nil).causes.map(\.field) == ["spec.template.spec.restartPolicy"])
        var indexedWithout = job
        indexedWithout.spec?.completionMode = "Indexed"
        indexedWithout.spec?.completions = nil
        #expect(Job.validate(indexedWithout, old: nil).causes.map(\.field) == ["spec.completions"])
        var changed = job
        changed.spec?.template.spec?.containers[0].image = "other"
        #expect(Job.validate(changed, old: job).causes.map(\.field) == ["spec.template"])
    }

    @Test func createsUpToParallelismAndCompletes() {
        let job = job(completions: 3, parallelism: 2)
        let first = JobPlanner.plan(job, pods: [], now: now, mayChangePods: true)
        #expect(first.create.count == 2)
        #expect(first.status.startTime == RFC3339.seconds(now))
        var started = job
        started.status = first.status
        // One succeeded (finalizer still held): it becomes uncounted and its finalizer goes.
        let done = pod("a", of: job, phase: "Succeeded")
        let running = pod("b", of: job, phase: "Running")
        let second = JobPlanner.plan(started, pods: [done, running], now: now, mayChangePods: true)
        #expect(second.status.uncountedTerminatedPods?.succeeded == ["uid-a"])
        #expect(second.releaseFinalizers.map(\.metadata.name) == ["a"])
        #expect(second.create.count == 1 && second.status.active == 1 && second.status.succeeded == 0)
        // Once the finalizer is gone the pod is in the total, even after it is deleted.
        started.status = second.status
        let third = JobPlanner.plan(started, pods: [running], now: now, mayChangePods: true)
        #expect(third.status.succeeded == 1 && third.status.uncountedTerminatedPods == nil)
        started.status = third.status
        // The last two succeed: enough, but Complete waits until they are counted.
        let met = JobPlanner.plan(started, pods: [pod("b", of: job, phase: "Succeeded"), pod("c", of: job, phase: "Succeeded")], now: now, mayChangePods: true)
        #expect(conditions(met) == ["SuccessCriteriaMet"] && met.releaseFinalizers.count == 2 && met.create.isEmpty)
        started.status = met.status
        let finished = JobPlanner.plan(started, pods: [pod("b", of: job, phase: "Succeeded", counted: true), pod("c", of: job, phase: "Succeeded", counted: true)],
                                       now: now, mayChangePods: true)
        #expect(finished.status.succeeded == 3)
        #expect(conditions(finished) == ["SuccessCriteriaMet", "Complete"])
        #expect(finished.status.completionTime == RFC3339.seconds(now))
        #expect(finished.events.map(\.reason) == ["Completed"] && finished.create.isEmpty)
    }

    @Test func failuresBackOffThenExceedTheLimit() {
        let job = job(backoffLimit: 1)
        var started = job
        started.status = JobPlanner.plan(job, pods: [], now: now, mayChangePods: true).status
        // A failure 5 s ago: the replacement waits until 10 s have passed.
        let failed = pod("a", of: job, phase: "Failed", counted: true, finishedAgo: 5)
        started.status?.failed = 1
        let waiting = JobPlanner.plan(started, pods: [failed], now: now, mayChangePods: true)
        #expect(waiting.create.isEmpty && waiting.recheckAt == now.addingTimeInterval(5))
        let later = JobPlanner.plan(started, pods: [pod("a", of: job, phase: "Failed", counted: true, finishedAgo: 11)], now: now, mayChangePods: true)
        #expect(later.create.count == 1)
        // A second failure is over the limit of 1: the Job fails.
        started.status?.failed = 2
        let over = JobPlanner.plan(started, pods: [failed, pod("b", of: job, phase: "Failed", counted: true)], now: now, mayChangePods: true)
        #expect(conditions(over) == ["FailureTarget", "Failed"])
        #expect(over.status.conditions?.last?.reason == "BackoffLimitExceeded")
        #expect(over.events.first?.type == "Warning" && over.create.isEmpty)
    }

    @Test func deadlineStopsRunningPodsBeforeFailing() throws {
        var job = job()
        job.spec?.activeDeadlineSeconds = 30
        job.status = JobStatus()
        job.status?.startTime = RFC3339.seconds(now.addingTimeInterval(-10))
        let early = JobPlanner.plan(job, pods: [pod("a", of: job, phase: "Running")], now: now, mayChangePods: true)
        #expect(early.recheckAt == now.addingTimeInterval(20) && early.delete.isEmpty)
        job.status?.startTime = RFC3339.seconds(now.addingTimeInterval(-31))
        let late = JobPlanner.plan(job, pods: [pod("a", of: job, phase: "Running")], now: now, mayChangePods: true)
        #expect(late.delete.map(\.metadata.name) == ["a"])
        #expect(conditions(late) == ["FailureTarget"]) // Failed once the pod is gone
        job.status = late.status
        let gone = JobPlanner.plan(job, pods: [], now: now, mayChangePods: true)
        #expect(conditions(gone) == ["FailureTarget", "Failed"])
        #expect(gone.status.conditions?.last?.reason == "DeadlineExceeded")
    }

    @Test func indexedJobsRunEachIndexOnce() throws {
        let job = job(completions: 4, parallelism: 2, indexed: true)
        let first = JobPlanner.plan(job, pods: [], now: now, mayChangePods: true)
        #expect(first.create == [0, 1])
        let made = JobPlanner.newPod(for: job, index: 1)
        #expect(made.metadata.generateName == "work-1-" && made.metadata.annotations?[Job.completionIndexAnnotation] == "1")
        #expect(made.spec?.hostname == "work-1")
        #expect(made.spec?.containers.first?.env?.last?.valueFrom?.fieldRef?.fieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']")
        #expect(made.metadata.finalizers == [Job.trackingFinalizer])
        var started = job
        started.status = first.status
        let plan = JobPlanner.plan(started, pods: [pod("a", of: job, phase: "Succeeded", index: 0), pod("b", of: job, phase: "Running", index: 1),
                                                   pod("c", of: job, phase: "Succeeded", index: 3, counted: true)], now: now, mayChangePods: true)
        #expect(plan.status.completedIndexes == "0,3")
        #expect(plan.create == [2])
        #expect(IndexRanges.format([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8" && IndexRanges.parse("0-2,5,7-8") == [0, 1, 2, 5, 7, 8])
    }

    @Test func suspendDeletesActivePodsAndResumeRestartsTheClock() {
        var job = job(completions: 2, parallelism: 2)
        job.spec?.suspend = true
        let suspended = JobPlanner.plan(job, pods: [pod("a", of: job, phase: "Running")], now: now, mayChangePods: true)
        #expect(suspended.delete.map(\.metadata.name) == ["a"] && suspended.create.isEmpty)
        #expect(conditions(suspended) == ["Suspended"] && suspended.events.map(\.reason) == ["Suspended"])
        job.status = suspended.status
        job.spec?.suspend = false
        let resumed = JobPlanner.plan(job, pods: [], now: now, mayChangePods: true)
        #expect(conditions(resumed).isEmpty && resumed.events.map(\.reason) == ["Resumed"])
        #expect(resumed.create.count == 2 && resumed.status.startTime == RFC3339.seconds(now))
    }

    @Test func podFailurePolicyFailsOrIgnores() {
        var job = job(backoffLimit: 6)
        job.spec?.podFailurePolicy = PodFailurePolicy(rules: [
            PodFailurePolicyRule(action: "FailJob", onExitCodes: PodFailurePolicyOnExitCodes(containerName: "main", operator: "In", values: [42])),
            PodFailurePolicyRule(action: "Ignore", onExitCodes: PodFailurePolicyOnExitCodes(operator: "In", values: [3])),
            PodFailurePolicyRule(action: "Ignore", onPodConditions: [PodFailurePolicyOnPodCondition(type: "DisruptionTarget")]),
        ])
        #expect(Job.validate(job, old: nil).causes.isEmpty)
        job.status = JobStatus()
        job.status?.startTime = RFC3339.seconds(now)
        func failed(_ name: String, exitCode: Int32) -> Pod {
            var pod = pod(name, of: job, phase: "Failed")
            pod.status?.containerStatuses?[0].state?.terminated?.exitCode = exitCode
            return pod
        }
        // Exit code 3 is ignored: not counted, its finalizer goes, a replacement starts at once.
        let ignored = JobPlanner.plan(job, pods: [failed("a", exitCode: 3)], now: now, mayChangePods: true)
        #expect(ignored.status.uncountedTerminatedPods == nil && ignored.releaseFinalizers.map(\.metadata.name) == ["a"])
        #expect(ignored.create.count == 1 && conditions(ignored).isEmpty)
        var disrupted = failed("d", exitCode: 1)
        disrupted.status?.conditions = [PodCondition(type: "DisruptionTarget", status: "True")]
        #expect(JobPlanner.plan(job, pods: [disrupted], now: now, mayChangePods: true).status.uncountedTerminatedPods == nil)
        // Exit code 42 fails the Job whatever the backoff limit.
        let fatal = JobPlanner.plan(job, pods: [failed("b", exitCode: 42)], now: now, mayChangePods: true)
        #expect(conditions(fatal) == ["FailureTarget"] && fatal.create.isEmpty)
        #expect(fatal.status.conditions?.first?.reason == "PodFailurePolicy")
        #expect(fatal.status.conditions?.first?.message == "Container main for pod default/b failed with exit code 42 matching FailJob rule at index 0")
        // Exit code 1 matches no rule: it counts as usual.
        #expect(JobPlanner.plan(job, pods: [failed("c", exitCode: 1)], now: now, mayChangePods: true).status.uncountedTerminatedPods?.failed == ["uid-c"])

        var wrong = job
        wrong.spec?.template.spec?.restartPolicy = "OnFailure"
        wrong.spec?.podFailurePolicy?.rules.append(PodFailurePolicyRule(action: "Retry", onExitCodes: PodFailurePolicyOnExitCodes(operator: "In", values: [0, 5])))
        wrong.spec?.podFailurePolicy?.rules.append(PodFailurePolicyRule(action: "Count"))
        #expect(Job.validate(wrong, old: nil).causes.compactMap(\.field) == ["spec.podFailurePolicy", "spec.podFailurePolicy.rules[3].action",
                                                                            "spec.podFailurePolicy.rules[3].onExitCodes.values", "spec.podFailurePolicy.rules[4]"])
    }

    @Test func finishedJobsExpireAfterTheirTTL() {
        var job = job()
        job.spec?.ttlSecondsAfterFinished = 60
        job.status = JobStatus()
        job.status?.conditions = [JobCondition(type: "Complete", status: "True", reason: "CompletionsReached", message: "", at: RFC3339.seconds(now.addingTimeInterval(-30)))]
        let waiting = JobPlanner.plan(job, pods: [], now: now, mayChangePods: true)
        #expect(!waiting.deleteJob && waiting.recheckAt == now.addingTimeInterval(30))
        #expect(JobPlanner.plan(job, pods: [], now: now.addingTimeInterval(31), mayChangePods: true).deleteJob)
    }
}
