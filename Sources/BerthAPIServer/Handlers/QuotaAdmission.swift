import BerthCore
import BerthStore
import Foundation
import Synchronization

/// ResourceQuota and Tenant quota admission, the last step before storage (as in Kubernetes):
/// a write that raises what its namespace's quotas (or its tenant's quota) limit is checked
/// against `status.used`, and the raised `used` is written in the same store transaction as the
/// object, each quota required unchanged since it was read. So two creates that both fit alone
/// but not together cannot both land — also across servers — and an acknowledged object is
/// always counted. The quota controller recounts `used` from the objects (it lowers it when
/// objects go; admission only ever raises it).
extension APIServer {
    /// The quotas governing a write in `namespace`: its ResourceQuotas and its tenant.
    struct QuotaHolder {
        let descriptor: ResourceDescriptor
        let key: String
        let revision: Int64
        let object: JSONValue
        let name: String
        let spec: ResourceQuotaSpec?
        var hard: [String: Quantity] { spec?.hard ?? [:] }
        var used: [String: Quantity] { (try? object.value(at: ["status", "used"])?.decode([String: Quantity].self)) ?? [:] }
    }

    /// Whether writes in `namespace` are governed by any quota (from memory, no store read).
    func isQuotaGoverned(_ namespace: String) async -> Bool {
        if let quotas = admissionMirror.values(under: storage.prefix(.resourceQuota, namespace: nil)) {
            let prefix = storage.prefix(.resourceQuota, namespace: namespace)
            if quotas.contains(where: { $0.key.hasPrefix(prefix) }) { return true }
        } else {
            return true
        }
        return (try? await tenantName(ofNamespace: namespace)) != nil
    }

    /// The tenant a namespace belongs to (its `berth.dev/tenant` label), if that tenant exists.
    func tenantName(ofNamespace namespace: String) async throws(BerthError) -> String? {
        guard let object = try? await admissionGet(.namespace, name: namespace),
              let name = object.value(at: ["metadata", "labels", Tenant.label])?.stringValue, !name.isEmpty else { return nil }
        return try await tenantIndex().tenants[name] == nil ? nil : name
    }

    /// Reads the quotas governing the object now (from the store: their revisions are the
    /// transaction's conditions).
    func quotaHolders(namespace: String) async throws(BerthError) -> [QuotaHolder] {
        var holders: [QuotaHolder] = []
        for kv in try await storage.list(.resourceQuota, namespace: namespace, limit: 0, continueAfter: nil).kvs {
            let object = try ObjectCodec.decode(kv)
            holders.append(QuotaHolder(descriptor: .resourceQuota, key: kv.key, revision: kv.modRevision, object: object,
                                       name: object.value(at: ["metadata", "name"])?.stringValue ?? "",
                                       spec: try? object["spec"]?.decode(ResourceQuotaSpec.self)))
        }
        if let tenant = try await tenantName(ofNamespace: namespace) {
            let key = storage.key(.tenant, namespace: nil, name: tenant)
            if let kv = try await storage.kv.get(key) {
                let object = try ObjectCodec.decode(kv)
                let hard = try? object.value(at: ["spec", "quota", "hard"])?.decode([String: Quantity].self)
                if let hard, !hard.isEmpty {
                    holders.append(QuotaHolder(descriptor: .tenant, key: key, revision: kv.modRevision, object: object, name: "tenant \(tenant)",
                                               spec: ResourceQuotaSpec(hard: hard)))
                }
            }
        }
        return holders
    }

    /// The charges a write makes: each governing quota with `status.used` raised, as companion
    /// writes of the transaction. Refuses (403) a write over any quota, with Kubernetes' words.
    func quotaCharges(_ descriptor: ResourceDescriptor, _ object: JSONValue, old: JSONValue?, subresource: String?) async throws(BerthError)
        -> [(key: String, revision: Int64, value: [UInt8])] {
        // Status writes never raise what an object uses (a pod that finishes frees its share).
        guard descriptor.namespaced, subresource == nil else { return [] }
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        guard await isQuotaGoverned(namespace) else { return [] }
        let new = QuotaPolicy.usage(descriptor, object)
        let previous = old.map { QuotaPolicy.usage(descriptor, $0) }
        if let previous, !new.contains(where: { $0.value > (previous[$0.key] ?? Quantity(integer: 0)) }) { return [] }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        var charges: [(key: String, revision: Int64, value: [UInt8])] = []
        var refusals: [String] = []
        for holder in try await quotaHolders(namespace: namespace) {
            guard QuotaPolicy.matchesScopes(holder.spec, descriptor, object) else { continue }
            // Until the quota controller has counted once, `used` is unknown and nothing is
            // admitted against it (as Kubernetes answers).
            let unknown = holder.hard.keys.filter { holder.used[$0] == nil && new[$0] != nil }.sorted()
            if !unknown.isEmpty {
                refusals.append("status unknown for quota: \(holder.name), resources: \(unknown.joined(separator: ","))")
                continue
            }
            switch QuotaPolicy.check(hard: holder.hard, used: holder.used, new: new, old: previous, descriptor: descriptor, object: object) {
            case .untouched:
                continue
            case .unspecified(let detail):
                refusals.append("failed quota: \(holder.name): \(detail)")
            case .exceeded(let detail):
                refusals.append("exceeded quota: \(holder.name), \(detail)")
            case .fits(let used):
                var charged = holder.object
                charged.set(try JSONValue(encoding: used), at: ["status", "used"])
                charged.set(try JSONValue(encoding: holder.hard), at: ["status", "hard"])
                charges.append((holder.key, holder.revision, ObjectCodec.encode(charged)))
            }
        }
        if !refusals.isEmpty {
            throw BerthError(.forbidden, "\(descriptor.plural) \"\(name)\" is forbidden: \(refusals.joined(separator: "; "))")
        }
        return charges
    }

    /// The cross-object guard of a write with the writes that go with it: quota charges, and a
    /// tenant's record of a namespace joining it.
    func guardWithCharges(_ guardKey: ObjectStorage.GuardKey?, _ descriptor: ResourceDescriptor, _ object: JSONValue, old: JSONValue?,
                          subresource: String?) async throws(BerthError) -> ObjectStorage.GuardKey? {
        var charges = try await quotaCharges(descriptor, object, old: old, subresource: subresource)
        if let join = try await tenantJoinWrite(descriptor, object, old: old) { charges.append(join) }
        if charges.isEmpty { return guardKey }
        return ObjectStorage.GuardKey(checked: guardKey?.checked ?? [], moved: guardKey?.moved ?? [], companions: charges)
    }
}

/// Lets one quota-charged write at a time per namespace through this server, so concurrent
/// creators queue instead of failing each other's transactions (across servers the
/// transaction's conditions still decide). Release is synchronous, for `defer`.
final class QuotaGate: Sendable {
    private let state = Mutex<[String: [CheckedContinuation<Void, Never>]]>([:])

    struct Pass {
        let gate: QuotaGate
        let key: String
        func release() { gate.release(key) }
    }

    func enter(_ key: String) async -> Pass {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted = state.withLock { waiting -> Bool in
                if waiting[key] == nil {
                    waiting[key] = []
                    return true
                }
                waiting[key]!.append(continuation)
                return false
            }
            if admitted { continuation.resume() }
        }
        return Pass(gate: self, key: key)
    }

    fileprivate func release(_ key: String) {
        let next = state.withLock { waiting -> CheckedContinuation<Void, Never>? in
            guard var queue = waiting[key], !queue.isEmpty else {
                waiting[key] = nil
                return nil
            }
            let first = queue.removeFirst()
            waiting[key] = queue
            return first
        }
        next?.resume()
    }
}
