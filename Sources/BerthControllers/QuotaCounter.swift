import BerthCore
import Foundation

/// Counts what a quota limits from the objects themselves (the recount behind `status.used`).
/// Reads go to the store, not to informer caches: a quota's `used` is written only if the quota
/// is unchanged since it was read first, and every admitted object was stored in the same
/// transaction that charged it, so a count read after the quota sees every object it charged.
struct QuotaCounter: Sendable {
    let api: ResourceAPI
    let registry: ResourceRegistry

    /// The kinds whose objects a quota with these names counts.
    func kinds(for hard: [String: Quantity]) -> [ResourceDescriptor] {
        var kinds: [ResourceDescriptor] = []
        func add(_ descriptor: ResourceDescriptor?) {
            if let descriptor, !kinds.contains(where: { $0.kind == descriptor.kind && $0.group == descriptor.group }) { kinds.append(descriptor) }
        }
        for name in hard.keys {
            if name.hasPrefix("count/") {
                let resource = String(name.dropFirst(6))
                let parts = resource.split(separator: ".", maxSplits: 1).map(String.init)
                add(registry.resource(group: parts.count > 1 ? parts[1] : "", plural: parts[0]))
            } else if name.hasPrefix("services") {
                add(.service)
            } else if ["configmaps", "secrets", "resourcequotas"].contains(name) {
                add(registry.resource(group: "", plural: name))
            } else if name == "pods" || name.hasPrefix("requests.") || name.hasPrefix("limits.") || ["cpu", "memory", "ephemeral-storage"].contains(name) {
                add(.pod)
            }
        }
        return kinds
    }

    /// What the objects in `namespaces` use, limited to the names in `hard`, counting only
    /// objects the quota's scopes govern.
    func count(hard: [String: Quantity], scopes: ResourceQuotaSpec?, namespaces: [String]) async throws(BerthError) -> [String: Quantity] {
        var usages: [[String: Quantity]] = []
        for descriptor in kinds(for: hard) {
            for namespace in namespaces {
                for object in try await api.listObjects(descriptor, namespace: namespace)
                where QuotaPolicy.matchesScopes(scopes, descriptor, object) {
                    usages.append(QuotaPolicy.usage(descriptor, object))
                }
            }
        }
        if hard[Self.registryStorage] != nil {
            for namespace in namespaces { usages.append([Self.registryStorage: Quantity(integer: try await registryUsage(namespace))]) }
        }
        return QuotaPolicy.total(usages, limitedTo: hard)
    }

    static let registryStorage = "registry.berth.dev/storage"

    /// The bytes the namespace's registry repositories hold (0 on a server without a registry).
    func registryUsage(_ namespace: String) async throws(BerthError) -> Int64 {
        let reply = try await api.client.request(.GET, "/berth/v1/registry/usage?namespace=\(namespace)")
        if reply.status == 404 { return 0 }
        let body = try JSONParser.parse(try reply.checked().body)
        return Int64(body["bytes"]?.intValue ?? 0)
    }
}
