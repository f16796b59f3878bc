import BerthClient
import BerthCore
import BerthScheduler
import Foundation
import Logging
import Synchronization

/// Places pods that have no node: takes them from a queue one at a time, runs the pure
/// scheduler over the snapshot it keeps from the node and pod informers, counts the pod against
/// the chosen node at once, and binds through `pods/binding` concurrently. A pod that fits
/// nowhere gets a `FailedScheduling` Event and waits with backoff, and is tried again as soon
/// as a node or a pod changes.
public final class SchedulerService: Sendable {
    public static let names: Set<String> = ["default-scheduler", "berth-scheduler"]
    let pods: Informer<Pod>
    let nodes: Informer<Node>
    let api: ResourceAPI
    let logger: Logger
    let volumes: SchedulerVolumes?
    /// Pods of higher priority are placed first, as from kube-scheduler's active queue.
    let queue: WorkQueue
    private let state: Mutex<State>

    struct State {
        var snapshot = SchedulingSnapshot()
        var scheduler = Scheduler()
        var startIndex = 0
        var generator = FastRandom()
        /// Pods that fit nowhere, with their attempt count.
        var waiting: [String: Int] = [:]
        /// Pods that preempted others: the node they hold room on and the victims still there.
        var preemptions: [String: (node: String, victims: Set<String>)] = [:]
    }

    /// What one look at a pod decided.
    enum Decision {
        case bind(node: String)
        case unschedulable(message: String, attempts: Int)
        /// Evict `plan.victims` and hold the room for the pod.
        case preempt(message: String, attempts: Int, plan: PreemptionPlan)
        /// Its victims are still going: wait without preempting again.
        case awaitingVictims(attempts: Int)
    }

    /// `namespaces` feed affinity terms' `namespaceSelector`; `budgets` are weighed by preemption.
    public init(pods: Informer<Pod>, nodes: Informer<Node>, namespaces: Informer<Namespace>? = nil,
                budgets: Informer<PodDisruptionBudget>? = nil, volumes: SchedulerVolumes? = nil, api: ResourceAPI, logger: Logger) {
        self.pods = pods
        self.volumes = volumes
        self.nodes = nodes
        self.api = api
        self.logger = logger
        queue = WorkQueue(name: "scheduler", rank: { [pods] key in pods.get(key)?.spec?.priority ?? 0 })
        state = Mutex(State())
        nodes.addHandler { [weak self] event in self?.nodeChanged(event) }
        pods.addHandler { [weak self] event in self?.podChanged(event) }
        namespaces?.addHandler { [weak self] event in self?.namespaceChanged(event) }
        // A claim bound or a volume made can let a waiting pod go.
        volumes?.claims.addHandler { [weak self] _ in self?.retryWaiting() }
        volumes?.volumes.addHandler { [weak self] _ in self?.retryWaiting() }
        SchedulerMetrics.watch(self)
        if let budgets {
            budgets.addHandler { [weak self, budgets] _ in
                let current = budgets.list().compactMap(PreemptionBudget.init)
                self?.state.withLock { $0.snapshot.budgets = current }
            }
        }
    }

    private func namespaceChanged(_ event: InformerEvent<Namespace>) {
        let retry = state.withLock { state -> [String] in
            switch event {
            case .added(let namespace), .updated(_, let namespace):
                let name = namespace.metadata.name ?? ""
                if state.snapshot.namespaceLabels[name] == namespace.metadata.labels { return [] }
                state.snapshot.setNamespaceLabels(name, namespace.metadata.labels)
            case .deleted(let namespace):
                state.snapshot.setNamespaceLabels(namespace.metadata.name ?? "", nil)
            }
            return Array(state.waiting.keys)
        }
        for key in retry { queue.add(key) }
    }

    static func needsScheduling(_ pod: Pod) -> Bool {
        guard let spec = pod.spec, spec.nodeName?.isEmpty ?? true, pod.metadata.deletionTimestamp == nil else { return false }
        guard names.contains(spec.schedulerName ?? "default-scheduler") else { return false }
        // A pod an IPPool serves is placed once the pool gave it its address.
        if pod.metadata.labels?[IPPool.poolLabel] != nil, pod.metadata.annotations?[IPPool.addressAnnotation] == nil { return false }
        return !PodState.isTerminal(pod)
    }

    private func nodeChanged(_ event: InformerEvent<Node>) {
        let retry = state.withLock { state -> [String] in
            switch event {
            case .added(let node): state.snapshot.upsert(node)
            case .updated(let old, let new):
                state.snapshot.upsert(new)
                // Heartbeats rewrite condition timestamps every few seconds, and a node going
                // NotReady takes room away: only changes that can make a waiting pod fit are
                // worth another attempt before its backoff runs out (see RetryTriggers).
                guard RetryTriggers.nodeUpdateMayHelp(old: old, new: new) else { return [] }
            case .deleted(let node):
                state.snapshot.removeNode(named: node.metadata.name ?? "")
                return []
            }
            return Array(state.waiting.keys)
        }
        for key in retry { queue.add(key) }
    }

    private func retryWaiting() {
        for key in state.withLock({ Array($0.waiting.keys) }) { queue.add(key) }
    }

    private func podChanged(_ event: InformerEvent<Pod>) {
        switch event {
        case .added(let pod), .updated(_, let pod):
            if Self.needsScheduling(pod) {
                // Our own status patches (PodScheduled=False) come back as updates: only a new
                // pod or a changed spec is worth another attempt right away.
                if case .updated(let old, _) = event, old.spec == pod.spec, old.metadata.labels == pod.metadata.labels,
                   old.metadata.annotations?[IPPool.addressAnnotation] == pod.metadata.annotations?[IPPool.addressAnnotation] { return }
                queue.add(Informer<Pod>.key(pod))
            } else if pod.spec?.nodeName?.isEmpty == false {
                let terminal = PodState.isTerminal(pod)
                state.withLock { state in
                    if terminal { state.snapshot.forget(uid: pod.metadata.uid ?? "") } else { state.snapshot.place(pod) }
                }
            }
        case .deleted(let pod):
            // Freed resources may let a waiting pod fit, if pods may land where they were.
            let retry = state.withLock { state -> [String] in
                let usable = pod.spec?.nodeName.flatMap { state.snapshot.node(named: $0) }.map(RetryTriggers.freedRoomIsUsable(on:)) ?? false
                state.snapshot.forget(uid: pod.metadata.uid ?? "")
                state.waiting[Informer<Pod>.key(pod)] = nil
                state.preemptions[Informer<Pod>.key(pod)] = nil
                return usable ? Array(state.waiting.keys) : []
            }
            for key in retry { queue.add(key) }
        }
    }

    public func run() async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                while let key = await queue.next() {
                    // A pod the snapshot already counts on a node is bound or being bound; the
                    // informer may not show it yet. Scheduling it again would see it stand in
                    // its own way (and preempt for room it already has).
                    guard let pod = pods.get(key), Self.needsScheduling(pod),
                          !state.withLock({ $0.snapshot.isAssumed(uid: pod.metadata.uid ?? "") }) else {
                        state.withLock { _ = $0.waiting.removeValue(forKey: key) }
                        queue.done(key)
                        continue
                    }
                    let started = ContinuousClock.now
                    var candidate = pod
                    switch volumes?.placement(pod, pods: pods) ?? .unchanged {
                    case .unchanged: break
                    case .constrained(let constrained): candidate = constrained
                    case .wait(let message):
                        let attempts = state.withLock { state in
                            state.waiting[key, default: 0] += 1
                            return state.waiting[key] ?? 1
                        }
                        queue.done(key)
                        group.addTask { await self.reportUnschedulable(pod, key: key, message: "0/\(self.nodes.list().count) nodes are available: \(message).", attempts: attempts) }
                        continue
                    }
                    let decision = decide(candidate, key: key)
                    SchedulerMetrics.attempt(decision, seconds: WorkQueueMetrics.seconds(.now - started))
                    switch decision {
                    case .bind(let node):
                        group.addTask { await self.bind(pod, key: key, node: node) }
                    case .unschedulable(let message, let attempts):
                        queue.done(key)
                        group.addTask { await self.reportUnschedulable(pod, key: key, message: message, attempts: attempts) }
                    case .preempt(let message, let attempts, let plan):
                        queue.done(key)
                        group.addTask {
                            await self.preempt(pod, plan: plan)
                            await self.reportUnschedulable(pod, key: key, message: message, attempts: attempts, nominatedNode: plan.nodeName)
                        }
                    case .awaitingVictims(let attempts):
                        queue.done(key)
                        scheduleRetry(key, attempts: attempts)
                    }
                }
            }
        } onCancel: {
            queue.shutDown()
        }
    }

    /// Runs the algorithm and, when it places the pod, counts it on the node right away; when it
    /// fits nowhere, looks for pods of lower priority to evict (see `Scheduler.preemption`).
    private func decide(_ pod: Pod, key: String) -> Decision {
        state.withLock { state in
            let uid = pod.metadata.uid ?? ""
            // The room a nomination holds is the pod's own: it must not stand in its way.
            if state.snapshot.nominated.contains(uid) { state.snapshot.forget(uid: uid) }
            let (result, evaluated) = state.scheduler.schedule(pod, in: state.snapshot, startIndex: state.startIndex, using: &state.generator)
            if state.snapshot.count > 0 { state.startIndex = (state.startIndex + evaluated) % state.snapshot.count }
            switch result {
            case .placed(let node, let index):
                state.snapshot.assume(PodSummary(pod), on: index)
                state.waiting[key] = nil
                state.preemptions[key] = nil
                return .bind(node: node)
            case .unschedulable(let message, _):
                let attempts = (state.waiting[key] ?? 0) + 1
                state.waiting[key] = attempts
                if let pending = state.preemptions[key], let index = state.snapshot.index(of: pending.node),
                   pending.victims.contains(where: state.snapshot.isPlaced(uid:)) {
                    state.snapshot.nominate(PodSummary(pod), on: index)
                    return .awaitingVictims(attempts: attempts)
                }
                switch state.scheduler.preemption(for: pod, in: state.snapshot) {
                case .preempt(let plan):
                    state.snapshot.nominate(PodSummary(pod), on: plan.nodeIndex)
                    state.preemptions[key] = (plan.nodeName, Set(plan.victims.map(\.uid)))
                    return .preempt(message: message, attempts: attempts, plan: plan)
                case .impossible(let reason):
                    state.preemptions[key] = nil
                    return .unschedulable(message: message + " " + reason, attempts: attempts)
                }
            }
        }
    }

    /// Evicts the victims as kube-scheduler does: an Event on each, then a delete with the
    /// victim's own grace period (its containers get TERM first).
    private func preempt(_ pod: Pod, plan: PreemptionPlan) async {
        let preemptor = "\(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "")"
        logger.info("preempting pods", metadata: ["pod": "\(preemptor)", "node": "\(plan.nodeName)", "victims": "\(plan.victims.count)"])
        for victim in plan.victims {
            let reference = ObjectReferenceValue(kind: "Pod", apiVersion: "v1", namespace: victim.namespace, name: victim.name, uid: victim.uid)
            await api.event(about: reference, reason: "Preempted", message: "Preempted by pod \(preemptor) on node \(plan.nodeName)",
                            component: "default-scheduler")
            do {
                try await api.delete(.pod, namespace: victim.namespace, name: victim.name, uid: victim.uid)
            } catch where error.code == .notFound || error.code == .conflict {
                continue // already gone, or another pod of that name now
            } catch {
                logger.warning("preemption could not delete a victim", metadata: ["pod": "\(victim.namespace)/\(victim.name)", "error": "\(error)"])
            }
        }
    }

    private func bind(_ pod: Pod, key: String, node: String) async {
        let namespace = pod.metadata.namespace ?? "default"
        let name = pod.metadata.name ?? ""
        do {
            try await api.bind(namespace: namespace, pod: name, uid: pod.metadata.uid, node: node)
            logger.debug("pod bound", metadata: ["pod": "\(key)", "node": "\(node)"])
            // kube-scheduler's event, recorded off the binding path (it never slows scheduling).
            Task { [api] in
                await api.event(about: ObjectReferenceValue(pod), reason: "Scheduled", message: "Successfully assigned \(namespace)/\(name) to \(node)",
                                component: "default-scheduler")
            }
            queue.forget(key)
        } catch {
            state.withLock { $0.snapshot.forget(uid: pod.metadata.uid ?? "") }
            if error.code != .notFound && error.code != .conflict {
                logger.warning("binding failed", metadata: ["pod": "\(key)", "node": "\(node)", "error": "\(error)"])
                queue.retry(key)
            }
        }
        queue.done(key)
    }

    /// `nominatedNode`: the node where the pod preempted others (`status.nominatedNodeName`).
    private func reportUnschedulable(_ pod: Pod, key: String, message: String, attempts: Int, nominatedNode: String? = nil) async {
        logger.debug("pod does not fit", metadata: ["pod": "\(key)", "reason": "\(message)"])
        await api.event(about: ObjectReferenceValue(pod), reason: "FailedScheduling", message: message, type: "Warning", component: "default-scheduler")
        let current = pod.status?.conditions?.first { $0.type == "PodScheduled" }
        if current?.message == message, nominatedNode == nil || pod.status?.nominatedNodeName == nominatedNode {
            return scheduleRetry(key, attempts: attempts)
        }
        let condition: JSONValue = ["type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": .string(message),
                                    "lastTransitionTime": .string(TableCells.formatTimestamp(Date()))]
        var status: JSONValue = ["conditions": [condition]]
        if let nominatedNode { status["nominatedNodeName"] = .string(nominatedNode) }
        try? await api.mergePatch(ResourceDescriptor.pod, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "",
                                  ["status": status], subresource: "status")
        scheduleRetry(key, attempts: attempts)
    }

    /// Pods waiting for a place (for `scheduler_pending_pods`).
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    /// 1 s, 2 s, 4 s … up to 10 s; node and pod changes retry sooner.
    private func scheduleRetry(_ key: String, attempts: Int) {
        let delay = Duration.milliseconds(min(10_000, 1000 << min(attempts - 1, 4)))
        queue.add(key, after: delay)
    }
}
