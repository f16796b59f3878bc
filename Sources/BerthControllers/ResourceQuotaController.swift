import BerthCore
import Foundation
import Logging

/// Keeps each ResourceQuota's `status` true: `hard` as the spec says, `used` recounted from the
/// objects. Admission raises `used` as objects are written; this lowers it when they go (a pod
/// deleted or finished, a Service deleted) and sets it at first. Other kinds are recounted on a
/// slow resync. The write is conditional on the quota being unchanged since it was read, so a
/// charge made meanwhile is never lost (the recount runs again).
public final class ResourceQuotaController: Reconciler {
    public let name = "resourcequota"
    public let queue = WorkQueue(name: "resourcequota")
    let quotas: Informer<ResourceQuota>
    let counter: QuotaCounter
    let api: ResourceAPI
    let logger: Logger
    static let resync: Duration = .seconds(15)

    public init(quotas: Informer<ResourceQuota>, pods: Informer<Pod>, services: Informer<BerthCore.Service>, api: ResourceAPI, logger: Logger) {
        self.quotas = quotas
        self.api = api
        self.logger = logger
        counter = QuotaCounter(api: api, registry: .standard)
        quotas.addHandler { [queue] event in
            switch event {
            case .added(let quota): queue.add(Informer<ResourceQuota>.key(namespace: quota.metadata.namespace, name: quota.metadata.name ?? ""))
            case .updated(let old, let new) where old.spec != new.spec:
                queue.add(Informer<ResourceQuota>.key(namespace: new.metadata.namespace, name: new.metadata.name ?? ""))
            case .updated, .deleted: break
            }
        }
        let replenish: @Sendable (String?) -> Void = { [quotas, queue] namespace in
            guard let namespace else { return }
            for quota in quotas.list() where quota.metadata.namespace == namespace {
                queue.addCoalesced(Informer<ResourceQuota>.key(namespace: namespace, name: quota.metadata.name ?? ""), after: .milliseconds(200))
            }
        }
        pods.addHandler { event in
            switch event {
            case .deleted(let pod): replenish(pod.metadata.namespace)
            case .updated(let old, let new) where Self.finished(new) && !Self.finished(old): replenish(new.metadata.namespace)
            case .added, .updated: break
            }
        }
        services.addHandler { event in
            if case .deleted(let service) = event { replenish(service.metadata.namespace) }
        }
    }

    static func finished(_ pod: Pod) -> Bool { ["Succeeded", "Failed"].contains(pod.status?.phase ?? "") }

    /// Every quota again now and then (objects of kinds without an informer here).
    public func resyncForever() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.resync)
            for quota in quotas.list() { queue.add(Informer<ResourceQuota>.key(namespace: quota.metadata.namespace, name: quota.metadata.name ?? "")) }
        }
    }

    public func reconcile(_ key: String) async throws {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, var quota = try await api.get(.resourceQuota, namespace: parts[0], name: parts[1], as: ResourceQuota.self) else { return }
        let hard = quota.spec?.hard ?? [:]
        let used = try await counter.count(hard: hard, scopes: quota.spec, namespaces: [parts[0]])
        let status = ResourceQuotaStatus(hard: hard, used: used)
        guard quota.status != status else { return }
        quota.status = status
        try await api.update(.resourceQuota, quota, subresource: "status")
    }
}
