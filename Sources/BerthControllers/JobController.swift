import BerthClient
import BerthCore
import Foundation
import Logging

/// Runs each Job's pods to completion (`JobPlanner` decides) and keeps its status; releases the
/// tracking finalizer of pods whose outcome is stored, or whose Job is gone.
public final class JobController: Reconciler {
    public let name = "job"
    public let queue = WorkQueue(name: "job")
    public var workers: Int { 4 }
    let jobs: Informer<Job>
    let pods: Informer<Pod>
    let api: ResourceAPI
    let expectations = Expectations()
    let logger: Logger

    public init(jobs: Informer<Job>, pods: Informer<Pod>, api: ResourceAPI, logger: Logger) {
        self.jobs = jobs
        self.pods = pods
        self.api = api
        self.logger = logger
        jobs.addHandler { [queue] event in
            switch event {
            case .added(let job), .deleted(let job): queue.add(Informer<Job>.key(job))
            case .updated(let old, let new):
                if old.spec != new.spec || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp || old.status?.conditions != new.status?.conditions {
                    queue.add(Informer<Job>.key(new))
                }
            }
        }
        pods.addHandler { [queue, expectations] event in
            guard let key = Self.ownerKey(event.object) else { return }
            expectations.observe(event, for: key)
            switch event {
            case .added, .deleted:
                queue.add(key)
            case .updated(let old, let new):
                if old.status?.phase != new.status?.phase || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp
                    || old.metadata.finalizers != new.metadata.finalizers {
                    queue.add(key)
                } else if old.status != new.status {
                    queue.addCoalesced(key, after: .milliseconds(200))
                }
            }
        }
    }

    static func ownerKey(_ pod: Pod) -> String? {
        guard let owner = pod.metadata.ownerReferences?.first(where: { $0.controller == true }), owner.kind == "Job" else { return nil }
        return Informer<Job>.key(namespace: pod.metadata.namespace, name: owner.name)
    }

    public func reconcile(_ key: String) async throws {
        guard let job = jobs.get(key), let uid = job.metadata.uid, job.metadata.deletionTimestamp == nil else {
            expectations.forget(key)
            // The Job is gone or going: its pods must not be held by our finalizer.
            let name = key.split(separator: "/").last.map(String.init) ?? key
            let namespace = key.contains("/") ? String(key.split(separator: "/")[0]) : nil
            let current = jobs.get(key)?.metadata.uid
            let held = pods.list().filter { pod in
                guard pod.metadata.namespace == namespace, JobPlanner.holdsFinalizer(pod),
                      let owner = pod.metadata.ownerReferences?.first(where: { $0.controller == true && $0.kind == "Job" }) else { return false }
                return owner.name == name && (owner.uid != current || jobs.get(key)?.metadata.deletionTimestamp != nil)
            }
            try await releaseFinalizers(held)
            return
        }
        let now = Date()
        let mayChangePods = expectations.satisfied(key)
        // Pods awaited but never seen (a lost event) must not stall the Job once no other event
        // comes: look again when the expectations lapse.
        if !mayChangePods { queue.add(key, after: .seconds(31)) }
        let plan = JobPlanner.plan(job, pods: pods.owned(by: uid), now: now, mayChangePods: mayChangePods)
        if !plan.create.isEmpty || !plan.delete.isEmpty {
            expectations.expect(key, adds: plan.create.count, deletes: Set(plan.delete.compactMap(\.metadata.uid)))
        }
        // Outcomes are stored before any finalizer goes, so no finished pod is ever uncounted.
        if job.status != plan.status {
            var updated = job
            updated.status = plan.status
            try await api.update(ResourceDescriptor.job, updated, subresource: "status")
        }
        let reference = ObjectReferenceValue(kind: "Job", apiVersion: "batch/v1", namespace: job.metadata.namespace, name: job.metadata.name ?? "", uid: uid)
        for event in plan.events {
            await api.event(about: reference, reason: event.reason, message: event.message, type: event.type, component: "job-controller")
        }
        try await releaseFinalizers(plan.releaseFinalizers)
        var failure: (any Error)?
        for index in plan.create {
            do {
                try await api.create(ResourceDescriptor.pod, namespace: job.metadata.namespace, JobPlanner.newPod(for: job, index: index))
            } catch {
                expectations.creationFailed(key)
                failure = error
                logger.warning("failed to create a job pod", metadata: ["job": "\(key)", "error": "\(error)"])
                await api.event(about: reference, reason: "FailedCreate", message: "Error creating: \(error)", type: "Warning", component: "job-controller")
                break
            }
        }
        for pod in plan.delete {
            do {
                try await api.delete(ResourceDescriptor.pod, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", uid: pod.metadata.uid)
            } catch {
                if let podUID = pod.metadata.uid { expectations.deletionObserved(key, uid: podUID) }
                failure = failure ?? error
            }
        }
        if plan.deleteJob {
            logger.info("deleting finished job after its TTL", metadata: ["job": "\(key)"])
            try await api.delete(ResourceDescriptor.job, namespace: job.metadata.namespace, name: job.metadata.name ?? "", uid: uid, propagationPolicy: "Background")
        }
        if let recheck = plan.recheckAt {
            queue.add(key, after: .milliseconds(Int64(max(0, recheck.timeIntervalSince(now)) * 1000) + 50))
        }
        if let failure { throw failure }
    }

    private func releaseFinalizers(_ pods: [Pod]) async throws {
        for pod in pods {
            let remaining = (pod.metadata.finalizers ?? []).filter { $0 != Job.trackingFinalizer }
            // The resourceVersion makes it a compare-and-swap: a concurrent finalizer change retries.
            var metadata: JSONValue = ["finalizers": .array(remaining.map { .string($0) })]
            if let version = pod.metadata.resourceVersion { metadata["resourceVersion"] = .string(version) }
            let patch: JSONValue = ["metadata": metadata]
            do throws(BerthError) {
                try await api.mergePatch(ResourceDescriptor.pod, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", patch)
            } catch {
                if error.code != .notFound { throw error }
            }
        }
    }
}
