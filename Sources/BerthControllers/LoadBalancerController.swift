import BerthClient
import BerthCore
import Foundation
import Logging
import Synchronization

/// Gives Services of type LoadBalancer their addresses (`LoadBalancerPlanner` decides): each
/// pool's `status.assignments` first — the record of truth, whose resourceVersion keeps two
/// writers from giving one address twice — then each Service's `status.loadBalancer.ingress`.
/// A Service that gets no address is told why in a Warning Event. One key: every change
/// replans the whole cluster's addresses (a few thousand at most; the plan is pure and cheap).
public final class LoadBalancerController: Reconciler {
    public let name = "loadbalancer"
    public let queue = WorkQueue(name: "loadbalancer")
    let pools: Informer<LoadBalancerPool>
    let services: Informer<BerthCore.Service>
    let namespaces: Informer<Namespace>
    let api: ResourceAPI
    let logger: Logger
    /// Problems reported already (one Event per Service and message, not one per pass).
    private let told = Mutex<[String: String]>([:])
    static let key = "all"

    public init(pools: Informer<LoadBalancerPool>, services: Informer<BerthCore.Service>, namespaces: Informer<Namespace>,
                api: ResourceAPI, logger: Logger) {
        self.pools = pools
        self.services = services
        self.namespaces = namespaces
        self.api = api
        self.logger = logger
        pools.addHandler { [queue] _ in queue.add(Self.key) }
        services.addHandler { [queue] event in
            switch event {
            case .added(let service), .deleted(let service):
                if service.spec?.type == "LoadBalancer" || LoadBalancerPlanner.currentAddress(service) != nil { queue.add(Self.key) }
            case .updated(let old, let new):
                if old.spec != new.spec || old.status?.loadBalancer != new.status?.loadBalancer || old.metadata.annotations != new.metadata.annotations
                    || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp {
                    queue.add(Self.key)
                }
            }
        }
        namespaces.addHandler { [queue] event in
            if case .updated(let old, let new) = event, old.metadata.labels == new.metadata.labels { return }
            queue.add(Self.key)
        }
    }

    public func reconcile(_ key: String) async throws {
        let allPools = pools.list()
        let allServices = services.list()
        let labels = Dictionary(namespaces.list().map { ($0.metadata.name ?? "", $0.metadata.labels ?? [:]) }, uniquingKeysWith: { a, _ in a })
        let plan = LoadBalancerPlanner.plan(pools: allPools, services: allServices, namespaceLabels: labels)

        // Pools first: a conflict means the cache is behind, and the queue retries.
        for pool in allPools {
            let name = pool.metadata.name ?? ""
            guard let assignments = plan.assignments[name] else { continue }
            let capacity = LoadBalancerPool.capacity(pool.spec?.addresses ?? [])
            let status = LoadBalancerPoolStatus(assignments: assignments, capacity: capacity, assigned: assignments.count)
            guard pool.status != status else { continue }
            var updated = pool
            updated.status = status
            try await api.update(ResourceDescriptor.loadBalancerPool, updated, subresource: "status")
            logger.info("load-balancer pool updated", metadata: ["pool": "\(name)", "assigned": "\(assignments.count)/\(capacity)"])
        }
        let byKey = Dictionary(allServices.map { (LoadBalancerPlanner.key($0), $0) }, uniquingKeysWith: { a, _ in a })
        for (serviceKey, address) in plan.addresses.sorted(by: { $0.key < $1.key }) {
            guard let service = byKey[serviceKey], LoadBalancerPlanner.currentAddress(service) != address else { continue }
            if let error = await show(address, on: service) {
                if error.code == .notFound { continue }
                throw error
            }
            logger.info("load-balancer address", metadata: ["service": "\(serviceKey)", "address": "\(address ?? "none")"])
        }
        for (serviceKey, message) in plan.problems.sorted(by: { $0.key < $1.key }) {
            guard isNews(message, for: serviceKey), let service = byKey[serviceKey] else { continue }
            let reference = ObjectReferenceValue(kind: "Service", apiVersion: "v1", namespace: service.metadata.namespace,
                                                 name: service.metadata.name ?? "", uid: service.metadata.uid)
            await api.event(about: reference, reason: "AllocationFailed", message: message, type: "Warning",
                            component: "loadbalancer-controller")
        }
        let problems = plan.problems
        told.withLock { told in told = told.filter { problems[$0.key] != nil } }
    }

    /// Whether the problem was not reported for this Service yet (and remembers it).
    private func isNews(_ message: String, for service: String) -> Bool {
        told.withLock { told in
            let previous = told[service]
            told[service] = message
            return previous != message
        }
    }

    /// Writes the address (or none) into the Service's `status.loadBalancer`.
    private func show(_ address: String?, on service: BerthCore.Service) async -> BerthError? {
        let ingress: JSONValue = address.map { ["ingress": [["ip": .string($0), "ipMode": "VIP"]]] } ?? ["ingress": .null]
        do throws(BerthError) {
            try await api.mergePatch(ResourceDescriptor.service, namespace: service.metadata.namespace, name: service.metadata.name ?? "",
                                     ["status": ["loadBalancer": ingress]], subresource: "status")
            return nil
        } catch {
            return error
        }
    }
}
