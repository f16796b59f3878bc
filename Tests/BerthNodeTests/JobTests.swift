import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Jobs with kubectl 1.33 on a real node: pods run to completion, Indexed jobs give each pod
/// its index, failures past the backoff limit fail the Job, CronJobs make Jobs on schedule and by
/// hand, and deleting a Job takes its pods (a CronJob, its Jobs).
@Suite("jobs with kubectl", .serialized, .blockingAllowed)
struct JobTests {
    static let kubectl = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"

    static let indexed = """
    apiVersion: batch/v1
    kind: Job
    metadata: {name: shards}
    spec:
      completions: 3
      parallelism: 2
      completionMode: Indexed
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: main, image: berth/busybox:latest, command: [sh, -c, 'echo "shard $JOB_COMPLETION_INDEX of $(hostname)"']}
    ---
    apiVersion: batch/v1
    kind: Job
    metadata: {name: doomed}
    spec:
      backoffLimit: 0
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: main, image: berth/busybox:latest, command: [sh, -c, 'exit 3']}
    ---
    apiVersion: batch/v1
    kind: Job
    metadata: {name: picky}
    spec:
      backoffLimit: 6
      podFailurePolicy:
        rules:
        - action: FailJob
          onExitCodes: {containerName: main, operator: In, values: [42]}
      template:
        spec:
          restartPolicy: Never
          containers:
          - {name: main, image: berth/busybox:latest, command: [sh, -c, 'exit 42']}
    """

    static let always = """
    apiVersion: batch/v1
    kind: Job
    metadata: {name: wrong}
    spec:
      template:
        spec:
          containers:
          - {name: main, image: berth/busybox:latest}
    """

    @Test("create job, wait for complete, logs; Indexed completions; a failing job; bad input; CronJobs; deletion takes the pods")
    func jobsRunToCompletion() async throws {
        try await withNode { node in
            let kubeconfig = ["--kubeconfig", node.server.kubeconfigPath]
            func kubectl(_ arguments: [String], input: String? = nil, timeout: Double = 90) throws -> CommandResult {
                try runCommand(Self.kubectl, kubeconfig + arguments, input: input, timeout: timeout)
            }
            let created = try kubectl(["create", "job", "hello", "--image=berth/busybox:latest", "--", "sh", "-c", "echo done-$((6*7))"])
            #expect(created.status == 0, "\(created)")
            #expect(try kubectl(["apply", "-f", "-"], input: Self.indexed).status == 0)
            let waited = try kubectl(["wait", "--for=condition=complete", "job/hello", "job/shards", "--timeout=90s"], timeout: 100)
            #expect(waited.status == 0, "\(waited)\n\((try? kubectl(["get", "pods,jobs", "-o", "wide"]).output) ?? "")\n\((try? kubectl(["get", "job", "shards", "-o", "json"]).output) ?? "")")
            let table = try kubectl(["get", "jobs", "hello", "shards", "--no-headers"]).output
            #expect(table.contains("hello") && table.contains("Complete") && table.contains("1/1") && table.contains("3/3"), "\(table)")
            let logs = try kubectl(["logs", "job/hello"])
            #expect(logs.output == "done-42\n", "\(logs)")

            let client = try node.api()
            let shards = try await client.request(.GET, "/apis/batch/v1/namespaces/default/jobs/shards").checked().json()
            #expect(shards.value(at: ["status", "completedIndexes"]) == "0-2")
            #expect(shards.value(at: ["status", "succeeded"]) == .number("3"))
            let pods = try await client.request(.GET, "/api/v1/namespaces/default/pods?labelSelector=batch.kubernetes.io%2Fjob-name%3Dshards").checked().json()
            let items = pods["items"]?.arrayValue ?? []
            #expect(items.count == 3)
            for pod in items {
                let name = pod.value(at: ["metadata", "name"])?.stringValue ?? ""
                let index = pod.value(at: ["metadata", "annotations", Job.completionIndexAnnotation])?.stringValue ?? "?"
                #expect(pod.value(at: ["metadata", "finalizers"])?.arrayValue?.isEmpty ?? true, "finalizer released on \(name)")
                let output = try kubectl(["logs", name]).output
                #expect(output == "shard \(index) of shards-\(index)\n", "\(name): \(output)")
            }

            // backoffLimit 0: the first failure fails the Job.
            let failed = try kubectl(["wait", "--for=condition=failed", "job/doomed", "--timeout=60s"], timeout: 70)
            #expect(failed.status == 0, "\(failed)")
            let doomed = try await client.request(.GET, "/apis/batch/v1/namespaces/default/jobs/doomed").checked().json()
            let condition = doomed.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"] == "Failed" }
            #expect(condition?["reason"] == "BackoffLimitExceeded")
            #expect(doomed.value(at: ["status", "failed"]) == .number("1"))
            // podFailurePolicy: exit code 42 fails the Job on its first pod, backoffLimit 6 notwithstanding.
            #expect(try kubectl(["wait", "--for=condition=failed", "job/picky", "--timeout=60s"], timeout: 70).status == 0)
            let picky = try await client.request(.GET, "/apis/batch/v1/namespaces/default/jobs/picky").checked().json()
            let pickyFailed = picky.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"] == "Failed" }
            #expect(pickyFailed?["reason"] == "PodFailurePolicy", "\(picky)")
            #expect(pickyFailed?["message"]?.stringValue?.contains("failed with exit code 42 matching FailJob rule at index 0") == true)
            let events = try kubectl(["get", "events", "--field-selector", "involvedObject.name=doomed", "--no-headers"]).output
            #expect(events.contains("BackoffLimitExceeded"), "\(events)")

            // restartPolicy defaults to Always, which a Job refuses: 422 naming the field.
            let wrong = try kubectl(["apply", "-f", "-"], input: Self.always)
            #expect(wrong.status != 0 && wrong.error.contains("spec.template.spec.restartPolicy") && wrong.error.contains("Unsupported value: \"Always\""), "\(wrong)")

            // CronJobs: kubectl's create, its table, a run by hand (--from), and the first scheduled run.
            let cron = try kubectl(["create", "cronjob", "tick", "--image=berth/busybox:latest", "--schedule=* * * * *", "--", "sh", "-c", "echo tick"])
            #expect(cron.status == 0, "\(cron)")
            let badSchedule = try kubectl(["create", "cronjob", "never", "--image=berth/busybox:latest", "--schedule=61 * * * *"])
            #expect(badSchedule.status != 0 && badSchedule.error.contains("spec.schedule"), "\(badSchedule)")
            let cronTable = try kubectl(["get", "cronjobs", "--no-headers"]).output
            #expect(cronTable.contains("tick") && cronTable.contains("* * * * *") && cronTable.contains("False"), "\(cronTable)")
            #expect(try kubectl(["create", "job", "tick-now", "--from=cronjob/tick"]).status == 0)
            #expect(try kubectl(["wait", "--for=condition=complete", "job/tick-now", "--timeout=60s"], timeout: 70).status == 0)
            #expect(try kubectl(["logs", "job/tick-now"]).output == "tick\n")
            let scheduled = try await waitFor("the first scheduled run", timeout: 90) { () -> String? in
                let list = try await client.request(.GET, "/apis/batch/v1/namespaces/default/jobs").checked().json()["items"]?.arrayValue ?? []
                return list.first { job in
                    job.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first?["kind"] == "CronJob"
                        && job.value(at: ["metadata", "name"])?.stringValue != "tick-now"
                }?.value(at: ["metadata", "name"])?.stringValue
            }
            #expect(scheduled.hasPrefix("tick-"))
            #expect(try kubectl(["wait", "--for=condition=complete", "job/\(scheduled)", "--timeout=60s"], timeout: 70).status == 0)
            let tick = try await client.request(.GET, "/apis/batch/v1/namespaces/default/cronjobs/tick").checked().json()
            #expect(tick.value(at: ["status", "lastScheduleTime"]) != nil, "\(tick)")
            // Its Jobs (the one made by hand too: kubectl made the CronJob its owner) go with it.
            #expect(try kubectl(["delete", "cronjob", "tick", "--wait=true", "--timeout=60s"], timeout: 70).status == 0)
            _ = try await waitFor("the CronJob's jobs are gone", timeout: 60) { () -> Bool? in
                let names = (try await client.request(.GET, "/apis/batch/v1/namespaces/default/jobs").checked().json()["items"]?.arrayValue ?? [])
                    .compactMap { $0.value(at: ["metadata", "name"])?.stringValue }
                return names.allSatisfy { !$0.hasPrefix("tick-") } ? true : nil
            }

            // Deleting the Jobs takes their pods (which held no finalizer any more, or lose it).
            #expect(try kubectl(["delete", "job", "hello", "shards", "doomed", "picky", "--wait=true", "--timeout=60s"], timeout: 70).status == 0)
            _ = try await waitFor("the jobs' pods are gone", timeout: 60) { () -> Bool? in
                let left = try await client.request(.GET, "/api/v1/namespaces/default/pods").checked().json()["items"]?.arrayValue ?? []
                return left.isEmpty ? true : nil
            }
        }
    }
}
