import BerthCore
import Foundation
import Logging

/// Keeps each Tenant and its namespaces in agreement:
/// - a namespace `spec.namespaces` names gets the tenant's label, Pod Security `baseline`
///   unless it says otherwise, and the isolation annotation while the tenant is isolated;
/// - a namespace that carries the tenant's label (an owner made it, or an admin labelled it)
///   is added to `spec.namespaces`;
/// - `status`: the namespaces that exist with the label, the quota's `hard`, and `used`
///   recounted over all of them (admission raises it; this lowers it when objects go).
public final class TenantController: Reconciler {
    public let name = "tenant"
    public let queue = WorkQueue(name: "tenant")
    let tenants: Informer<Tenant>
    let namespaces: Informer<Namespace>
    let counter: QuotaCounter
    let api: ResourceAPI
    let logger: Logger
    static let resync: Duration = .seconds(15)

    public init(tenants: Informer<Tenant>, namespaces: Informer<Namespace>, pods: Informer<Pod>, api: ResourceAPI, logger: Logger) {
        self.tenants = tenants
        self.namespaces = namespaces
        self.api = api
        self.logger = logger
        counter = QuotaCounter(api: api, registry: .standard)
        tenants.addHandler { [queue] event in
            switch event {
            case .added(let tenant): queue.add(tenant.metadata.name ?? "")
            case .updated(let old, let new) where old.spec != new.spec: queue.add(new.metadata.name ?? "")
            case .updated, .deleted: break
            }
        }
        let byNamespace: @Sendable (Namespace) -> Void = { [tenants, queue] namespace in
            let name = namespace.metadata.name ?? ""
            if let label = namespace.metadata.labels?[Tenant.label] { queue.addCoalesced(label, after: .milliseconds(100)) }
            for tenant in tenants.list() where (tenant.spec?.namespaces ?? []).contains(name) {
                queue.addCoalesced(tenant.metadata.name ?? "", after: .milliseconds(100))
            }
        }
        namespaces.addHandler { event in
            switch event {
            case .added(let namespace), .deleted(let namespace): byNamespace(namespace)
            case .updated(let old, let new):
                if old.metadata.labels != new.metadata.labels || old.metadata.annotations != new.metadata.annotations {
                    byNamespace(old)
                    byNamespace(new)
                }
            }
        }
        let replenish: @Sendable (String?) -> Void = { [namespaces, queue] namespace in
            guard let namespace, let tenant = namespaces.get(namespace)?.metadata.labels?[Tenant.label] else { return }
            queue.addCoalesced(tenant, after: .milliseconds(200))
        }
        pods.addHandler { event in
            switch event {
            case .deleted(let pod): replenish(pod.metadata.namespace)
            case .updated(let old, let new) where ResourceQuotaController.finished(new) && !ResourceQuotaController.finished(old):
                replenish(new.metadata.namespace)
            case .added, .updated: break
            }
        }
    }

    public func resyncForever() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.resync)
            for tenant in tenants.list() { queue.add(tenant.metadata.name ?? "") }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard var tenant = try await api.get(.tenant, namespace: nil, name: key, as: Tenant.self) else { return }
        let listed = tenant.spec?.namespaces ?? []
        // Namespaces named by the tenant take its label and defaults.
        for name in listed {
            guard let namespace = namespaces.get(name), namespace.metadata.deletionTimestamp == nil else { continue }
            if let patch = Self.namespacePatch(namespace, tenant: tenant) {
                try await api.mergePatch(.namespace, namespace: nil, name: name, patch)
            }
        }
        // Namespaces labelled as the tenant's join its list.
        let labelled = namespaces.list().filter { $0.metadata.labels?[Tenant.label] == key && $0.metadata.deletionTimestamp == nil }
            .compactMap(\.metadata.name).sorted()
        let joining = labelled.filter { !listed.contains($0) }
        if !joining.isEmpty {
            tenant.spec = tenant.spec ?? TenantSpec()
            tenant.spec?.namespaces = listed + joining
            tenant = try await api.updateReturning(.tenant, tenant)
        }
        let members = Array(Set(labelled).union(listed.filter { namespaces.get($0) != nil })).sorted()
        let hard = tenant.spec?.quota?.hard ?? [:]
        var status = TenantStatus(namespaces: members, hard: hard.isEmpty ? nil : hard, used: nil)
        if !hard.isEmpty { status.used = try await counter.count(hard: hard, scopes: nil, namespaces: members) }
        guard tenant.status != status else { return }
        tenant.status = status
        try await api.update(.tenant, tenant, subresource: "status")
    }

    /// What a namespace of the tenant lacks: its label, Pod Security baseline (unless set), and
    /// the isolation annotation as the tenant says.
    static func namespacePatch(_ namespace: Namespace, tenant: Tenant) -> JSONValue? {
        let name = tenant.metadata.name ?? ""
        var labels: [String: JSONValue] = [:]
        var annotations: [String: JSONValue] = [:]
        if namespace.metadata.labels?[Tenant.label] != name { labels[Tenant.label] = .string(name) }
        if namespace.metadata.labels?[PodSecurityStandards.enforceLabel] == nil { labels[PodSecurityStandards.enforceLabel] = "baseline" }
        let isolated = namespace.metadata.annotations?[Tenant.isolationAnnotation]
        if tenant.spec?.isolation == true, isolated != name { annotations[Tenant.isolationAnnotation] = .string(name) }
        if tenant.spec?.isolation != true, isolated == name { annotations[Tenant.isolationAnnotation] = .null }
        if labels.isEmpty && annotations.isEmpty { return nil }
        var metadata: [String: JSONValue] = [:]
        if !labels.isEmpty { metadata["labels"] = .object(labels) }
        if !annotations.isEmpty { metadata["annotations"] = .object(annotations) }
        return ["metadata": .object(metadata)]
    }
}
