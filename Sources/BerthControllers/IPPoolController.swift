import BerthClient
import BerthCore
import Foundation
import Logging
import Synchronization

/// Hands out the addresses of each IPPool to the pods it serves (`IPPoolPlanner` decides):
/// records them in the pool's status first — the status is the record of truth, and its
/// resourceVersion makes two writers unable to give one address twice — then sets each pod's
/// `berth.dev/ip` annotation, which lets the scheduler place it and its node plumb it. A pod
/// the pool cannot serve gets a Warning Event and a PodScheduled=False condition saying so.
public final class IPPoolController: Reconciler {
    public let name = "ippool"
    public let queue = WorkQueue(name: "ippool")
    let pools: Informer<IPPool>
    let pods: Informer<Pod>
    let api: ResourceAPI
    let logger: Logger
    /// Pods told already that their pool is exhausted (one Event each, not one per pass).
    private let told = Mutex<Set<String>>([])

    public init(pools: Informer<IPPool>, pods: Informer<Pod>, api: ResourceAPI, logger: Logger) {
        self.pools = pools
        self.pods = pods
        self.api = api
        self.logger = logger
        pools.addHandler { [queue] event in
            switch event {
            case .added(let pool), .deleted(let pool): queue.add(pool.metadata.name ?? "")
            case .updated(let old, let new):
                if old.spec != new.spec || old.status != new.status { queue.add(new.metadata.name ?? "") }
            }
        }
        pods.addHandler { [queue] event in
            switch event {
            case .added(let pod), .deleted(let pod):
                if let pool = pod.metadata.labels?[IPPool.poolLabel] { queue.add(pool) }
            case .updated(let old, let new):
                guard let pool = new.metadata.labels?[IPPool.poolLabel],
                      old.status?.phase != new.status?.phase || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp
                        || old.metadata.annotations?[IPPool.addressAnnotation] != new.metadata.annotations?[IPPool.addressAnnotation]
                else { return }
                queue.add(pool)
            }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let pool = pools.get(key), let spec = pool.spec else { return }
        let served = pods.list().filter { $0.metadata.namespace == spec.namespace && $0.metadata.labels?[IPPool.poolLabel] == key }
        let plan = IPPoolPlanner.plan(pool: pool, pods: served)
        let capacity = spec.allAddresses.count
        if plan.allocations != (pool.status?.allocations ?? [:]) || pool.status?.capacity != capacity || pool.status?.allocated != plan.allocations.count {
            var updated = pool
            updated.status = IPPoolStatus(allocations: plan.allocations, capacity: capacity, allocated: plan.allocations.count)
            // A conflict means the cache is behind: the work queue retries with the newer pool.
            try await api.update(ResourceDescriptor.ipPool, updated, subresource: "status")
            logger.info("pool allocations updated", metadata: ["pool": "\(key)", "allocated": "\(plan.allocations.count)/\(capacity)"])
        }
        for (pod, address) in plan.annotate.sorted(by: { $0.key < $1.key }) {
            if let error = await annotate(pod, namespace: spec.namespace, address: address) {
                if error.code == .notFound { continue }
                throw error
            }
            told.withLock { _ = $0.remove("\(spec.namespace)/\(pod)") }
        }
        for name in plan.waiting {
            let podKey = "\(spec.namespace)/\(name)"
            guard told.withLock({ $0.insert(podKey).inserted }), let pod = served.first(where: { $0.metadata.name == name }) else { continue }
            let message = "IPPool \(key) has no free address: \(plan.allocations.count) of \(capacity) allocated; the pod waits until one is released"
            await api.event(about: ObjectReferenceValue(pod), reason: "IPPoolExhausted", message: message, type: "Warning", component: "ippool-controller")
            let condition: JSONValue = ["type": "PodScheduled", "status": "False", "reason": "IPPoolExhausted", "message": .string(message),
                                        "lastTransitionTime": .string(TableCells.formatTimestamp(Date()))]
            try? await api.mergePatch(ResourceDescriptor.pod, namespace: spec.namespace, name: name, ["status": ["conditions": [condition]]], subresource: "status")
        }
    }

    private func annotate(_ pod: String, namespace: String, address: String) async -> BerthError? {
        do throws(BerthError) {
            try await api.mergePatch(ResourceDescriptor.pod, namespace: namespace, name: pod,
                                     ["metadata": ["annotations": [IPPool.addressAnnotation: .string(address)]]])
            return nil
        } catch {
            return error
        }
    }
}
