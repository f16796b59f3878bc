import BerthClient
import BerthCore
import Foundation
import Logging
import Synchronization

/// Watches node Leases: a node that stops renewing for `grace` becomes NotReady (Ready=Unknown)
/// and is tainted unreachable, so nothing new lands on it; after `evictionTimeout` more its pods
/// are deleted so their controllers replace them elsewhere. When the node's agent comes back it
/// finds those pods gone and stops their containers, so no app runs twice.
public final class NodeLifecycleController: Sendable {
    let nodes: Informer<Node>
    let leases: Informer<Lease>
    let pods: Informer<Pod>
    let api: ResourceAPI
    let logger: Logger
    private let tracker: Mutex<NodeHealthTracker>
    private let gate = Mutex(EvictionGate())
    /// Zones whose evictions are held back, so that is logged once per outage.
    private let heldZones = Mutex<Set<String>>([])
    static let taintEffects = ["NoSchedule", "NoExecute"]

    public init(nodes: Informer<Node>, leases: Informer<Lease>, pods: Informer<Pod>, api: ResourceAPI,
                grace: Duration, evictionTimeout: Duration, logger: Logger) {
        self.nodes = nodes
        self.leases = leases
        self.pods = pods
        self.api = api
        self.logger = logger
        tracker = Mutex(NodeHealthTracker(grace: grace, evictionTimeout: evictionTimeout))
        // Renewals are noted as their events arrive, not by copying every Lease out of the
        // cache four times a second (1,000 nodes: 4,000 copies a second for nothing).
        leases.addHandler { [weak self] event in
            let lease = event.object
            guard let self, lease.metadata.namespace == "kube-node-lease" else { return }
            if case .deleted = event { return }
            let now = ContinuousClock.now
            self.tracker.withLock { $0.observe(node: lease.metadata.name ?? "", renewTime: lease.spec?.renewTime, now: now) }
        }
    }

    public func run() async {
        while !Task.isCancelled {
            await checkAll()
            // A quarter second: the check is cheap, and failover time is grace + timeout + this.
            try? await Task.sleep(for: .milliseconds(250))
        }
    }

    func checkAll() async {
        let now = ContinuousClock.now
        // Judged from the cache in place; only nodes that need a step are copied out.
        var due: [(node: Node, tainted: Bool, verdict: NodeHealthTracker.Verdict)] = []
        var lostByZone: [String: Int] = [:]
        var totalByZone: [String: Int] = [:]
        tracker.withLock { tracker in
            nodes.forEach { node in
                let tainted = node.spec?.taints?.contains { $0.key == TaintKeysForLifecycle.unreachable } ?? false
                let verdict = tracker.judge(node: node.metadata.name ?? "", markedLost: tainted, now: now)
                let zone = Self.zone(of: node)
                totalByZone[zone, default: 0] += 1
                if verdict == .lost || verdict == .evict { lostByZone[zone, default: 0] += 1 }
                if verdict != .healthy { due.append((node, tainted, verdict)) }
            }
        }
        let evictionDue = Set(due.filter { $0.verdict == .evict }.map { $0.node.metadata.name ?? "" })
        var evictable = gate.withLock { gate in
            gate.keepEvictions(of: evictionDue)
            return gate.zonesThatMayEvict(lostByZone: lostByZone, totalByZone: totalByZone, now: now)
        }
        heldZones.withLock { $0.subtract(evictable) }
        // Recoveries first: a node back from a long outage must not wait behind other nodes' evictions.
        due.sort { ($0.verdict == .recovered ? 0 : 1) < ($1.verdict == .recovered ? 0 : 1) }
        var toEvict: [String] = []
        for (node, tainted, verdict) in due {
            let name = node.metadata.name ?? ""
            do {
                switch verdict {
                case .healthy: continue
                case .lost: if !tainted { try await markLost(node) }
                case .evict:
                    if !tainted { try await markLost(node) }
                    let zone = Self.zone(of: node)
                    guard evictable.contains(zone) else {
                        noteEvictionHeld(zone: zone, lost: lostByZone[zone] ?? 0, total: totalByZone[zone] ?? 0)
                        continue
                    }
                    let state = EvictionGate.state(lost: lostByZone[zone] ?? 0, total: totalByZone[zone] ?? 0)
                    if gate.withLock({ $0.shouldEvict(node: name, zone: zone, state: state, allowed: &evictable, now: now) }) {
                        toEvict.append(name)
                    }
                case .recovered: try await liftTaints(node)
                }
            } catch {
                logger.warning("node lifecycle step failed", metadata: ["node": "\(name)", "error": "\(error)"])
            }
        }
        // A node may have come back while the others were being marked.
        let stillLost = tracker.withLock { tracker in toEvict.filter { tracker.isLost(node: $0, now: .now) } }
        if !stillLost.isEmpty { await evictPods(of: Set(stillLost)) }
    }

    static func zone(of node: Node) -> String { node.metadata.labels?["topology.kubernetes.io/zone"] ?? "" }

    /// Logs once per outage that a zone's evictions are held, and once when they resume.
    private func noteEvictionHeld(zone: String, lost: Int, total: Int) {
        let first = heldZones.withLock { $0.insert(zone).inserted }
        guard first else { return }
        logger.warning("not evicting pods: too many nodes lost at once, as Kubernetes does in a disrupted zone",
                       metadata: ["zone": "\(zone.isEmpty ? "(none)" : zone)", "lost": "\(lost)", "nodes": "\(total)"])
    }

    private func markLost(_ node: Node) async throws {
        let name = node.metadata.name ?? ""
        logger.info("node stopped renewing its lease, marking it not ready", metadata: ["node": "\(name)"])
        let stamp = JSONValue.string(TableCells.formatTimestamp(Date()))
        var conditions: [JSONValue] = []
        for condition in node.status?.conditions ?? [] {
            var value = try JSONValue(encoding: condition)
            if condition.type == "Ready" {
                value["status"] = "Unknown"
                value["reason"] = "NodeStatusUnknown"
                value["message"] = "Kubelet stopped posting node status."
                value["lastTransitionTime"] = stamp
            }
            conditions.append(value)
        }
        try await api.mergePatch(ResourceDescriptor.node, namespace: nil, name: name, ["status": ["conditions": .array(conditions)]], subresource: "status")
        var updated = node
        var taints = (node.spec?.taints ?? []).filter { $0.key != TaintKeysForLifecycle.unreachable }
        for effect in Self.taintEffects {
            taints.append(Taint(key: TaintKeysForLifecycle.unreachable, effect: effect, timeAdded: TableCells.formatTimestamp(Date())))
        }
        if updated.spec == nil { updated.spec = try JSONValue.object([:]).decode(NodeSpec.self) }
        updated.spec?.taints = taints
        if let fresh = try await api.get(ResourceDescriptor.node, namespace: nil, name: name, as: Node.self) {
            updated.metadata.resourceVersion = fresh.metadata.resourceVersion
            updated.status = fresh.status
        }
        try await api.update(ResourceDescriptor.node, updated)
        await api.event(about: ObjectReferenceValue(kind: "Node", apiVersion: "v1", namespace: nil, name: name, uid: node.metadata.uid),
                        reason: "NodeNotReady", message: "Node \(name) status is now: NodeNotReady", type: "Warning", component: "node-controller")
    }

    /// Deletes the lost nodes' pods at once (grace 0): their agent cannot confirm a graceful
    /// stop, and their replacements should not wait. DaemonSet pods stay, as in Kubernetes.
    /// One pass over the cache finds the pods of all of them (a pass per node cost 30,000 pod
    /// visits for each lost node, every check), and up to `evictionConcurrency` deletes are
    /// in flight at once, so they share the store's commits (one after another, a host with
    /// 3,000 pods took 30 s).
    private func evictPods(of lost: Set<String>) async {
        var victims: [Pod] = []
        pods.forEach { pod in
            if let node = pod.spec?.nodeName, lost.contains(node),
               pod.metadata.ownerReferences?.contains(where: { $0.controller == true && $0.kind == "DaemonSet" }) != true {
                victims.append(pod)
            }
        }
        guard !victims.isEmpty else { return }
        let (api, logger) = (self.api, self.logger)
        await withTaskGroup(of: Void.self) { group in
            var next = victims.makeIterator()
            func addNext() -> Bool {
                guard let pod = next.next() else { return false }
                group.addTask { await Self.evict(pod, api: api, logger: logger) }
                return true
            }
            for _ in 0..<Self.evictionConcurrency where !addNext() { break }
            while await group.next() != nil { _ = addNext() }
        }
    }

    static let evictionConcurrency = 32

    private static func evict(_ pod: Pod, api: ResourceAPI, logger: Logger) async {
        let node = pod.spec?.nodeName ?? ""
        let name = "\(pod.metadata.namespace ?? "")/\(pod.metadata.name ?? "")"
        logger.info("evicting pod from lost node", metadata: ["node": "\(node)", "pod": "\(name)"])
        await api.event(about: ObjectReferenceValue(pod), reason: "TaintManagerEviction", message: "Marking for deletion Pod \(name) from lost node \(node)",
                        component: "node-controller")
        do {
            try await api.delete(ResourceDescriptor.pod, namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", uid: pod.metadata.uid, gracePeriodSeconds: 0)
        } catch where error.code == .notFound || error.code == .conflict {
            // Gone already, or replaced by a pod of the same name (the uid precondition).
        } catch {
            // The next check (a quarter second on) finds the pod again if it is still there.
            logger.warning("evicting pod failed", metadata: ["node": "\(node)", "pod": "\(name)", "error": "\(error)"])
        }
    }

    private func liftTaints(_ node: Node) async throws {
        let name = node.metadata.name ?? ""
        logger.info("node renews its lease again, lifting the unreachable taints", metadata: ["node": "\(name)"])
        guard var fresh = try await api.get(ResourceDescriptor.node, namespace: nil, name: name, as: Node.self) else { return }
        let remaining = (fresh.spec?.taints ?? []).filter { $0.key != TaintKeysForLifecycle.unreachable }
        fresh.spec?.taints = remaining.isEmpty ? nil : remaining
        try await api.update(ResourceDescriptor.node, fresh)
    }
}

enum TaintKeysForLifecycle {
    static let unreachable = "node.kubernetes.io/unreachable"
}
