import BerthCore
import Foundation
import Logging

/// Keeps each PodDisruptionBudget's status current (expected, healthy, desired pods and the
/// disruptions allowed now) as its pods come, go and change readiness, so `kubectl get pdb`
/// shows what an eviction would be told. The eviction itself checks the budget against the
/// live pods and records the disruption in this same status (`APIServer.evictPod`).
public final class DisruptionBudgetController: Reconciler {
    public let name = "disruption"
    public let queue = WorkQueue(name: "disruption")
    let budgets: Informer<PodDisruptionBudget>
    let pods: Informer<Pod>
    let replicaSets: Informer<ReplicaSet>
    let deployments: Informer<Deployment>
    let daemonSets: Informer<DaemonSet>
    let api: ResourceAPI
    let logger: Logger

    public init(budgets: Informer<PodDisruptionBudget>, pods: Informer<Pod>, replicaSets: Informer<ReplicaSet>, deployments: Informer<Deployment>,
                daemonSets: Informer<DaemonSet>, api: ResourceAPI, logger: Logger) {
        self.budgets = budgets
        self.pods = pods
        self.replicaSets = replicaSets
        self.deployments = deployments
        self.daemonSets = daemonSets
        self.api = api
        self.logger = logger
        // A controller's scale is part of a budget's expected pods.
        let scaled: @Sendable (String?) -> Void = { [queue, budgets] namespace in
            for budget in budgets.list() where budget.metadata.namespace == namespace { queue.add(Informer<PodDisruptionBudget>.key(budget)) }
        }
        deployments.addHandler { event in
            if case .updated(let old, let new) = event, old.spec?.replicas != new.spec?.replicas { scaled(new.metadata.namespace) }
        }
        replicaSets.addHandler { event in
            if case .updated(let old, let new) = event, old.spec?.replicas != new.spec?.replicas { scaled(new.metadata.namespace) }
        }
        daemonSets.addHandler { event in
            if case .updated(let old, let new) = event, old.status?.desiredNumberScheduled != new.status?.desiredNumberScheduled {
                scaled(new.metadata.namespace)
            }
        }
        budgets.addHandler { [queue] event in
            switch event {
            case .added(let budget), .deleted(let budget): queue.add(Informer<PodDisruptionBudget>.key(budget))
            case .updated(let old, let new):
                if old.spec != new.spec || old.status != new.status { queue.add(Informer<PodDisruptionBudget>.key(new)) }
            }
        }
        pods.addHandler { [queue, budgets] event in
            let changed: Pod?
            switch event {
            case .added(let pod), .deleted(let pod): changed = pod
            case .updated(let old, let new):
                let readiness = { (pod: Pod) in DisruptionBudget.isHealthy(pod) }
                changed = readiness(old) != readiness(new) || old.metadata.labels != new.metadata.labels
                    || old.metadata.deletionTimestamp != new.metadata.deletionTimestamp ? new : nil
            }
            guard let changed else { return }
            for budget in budgets.list() where budget.metadata.namespace == changed.metadata.namespace {
                queue.add(Informer<PodDisruptionBudget>.key(budget))
            }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let budget = budgets.get(key) else { return }
        let selected = pods.list().filter { DisruptionBudget.selects(budget, $0) }
        let status = DisruptionBudget.status(budget, pods: selected, now: Date()) { owner, namespace in
            DisruptionBudget.controllerScale(owner, namespace: namespace, lookup: self.owner)
        }
        guard status != budget.status else { return }
        var updated = budget
        updated.status = status
        // A conflict (an eviction recorded a disruption meanwhile) retries with the newer budget.
        try await api.update(ResourceDescriptor.podDisruptionBudget, updated, subresource: "status")
    }

    private func owner(kind: String, namespace: String, name: String) -> (meta: ObjectMeta, replicas: Int32)? {
        let key = Informer<Pod>.key(namespace: namespace, name: name)
        switch kind {
        case "ReplicaSet": return replicaSets.get(key).map { ($0.metadata, $0.spec?.replicas ?? 1) }
        case "Deployment": return deployments.get(key).map { ($0.metadata, $0.spec?.replicas ?? 1) }
        case "DaemonSet": return daemonSets.get(key).map { ($0.metadata, $0.status?.desiredNumberScheduled ?? 0) }
        default: return nil
        }
    }
}
