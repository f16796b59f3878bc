import BerthCore
import BerthStore
import Foundation
import Synchronization

/// RBAC in the authorization chain: the four kinds come from the in-memory mirror and are
/// indexed once per change (`RBACIndex`); a store without the mirror (etcd) is read again at
/// most once a second.
final class RBACCache: Sendable {
    struct Entry {
        /// Change counts of the four RBAC prefixes and of the Tenant prefix (nil: no mirror).
        let changes: [Int]?
        let tenantChanges: Int?
        let built: ContinuousClock.Instant
        let index: RBACIndex
        let tenants: TenantIndex
        /// Decoded Tenants by key with the revision they were decoded at: a Tenant's status
        /// changes with every quota charge, and only changed ones are decoded again.
        let decodedTenants: [String: (revision: Int64, tenant: Tenant)]
    }

    let entry = Mutex<Entry?>(nil)
}

/// The user of the request being handled, for checks inside handlers (escalation).
enum RequestUser {
    @TaskLocal static var current: UserInfo?
}

extension APIServer {
    /// The kinds the index is built from: RBAC's four and Tenants (whose owners' grants it holds).
    static let rbacKinds: [ResourceDescriptor] = [.clusterRole, .role, .clusterRoleBinding, .roleBinding, .tenant]

    func rbacIndex() async throws(BerthError) -> RBACIndex { try await accessIndexes().index }

    func tenantIndex() async throws(BerthError) -> TenantIndex { try await accessIndexes().tenants }

    /// The RBAC index (with the grants tenants give their owners) and the tenant index, built
    /// again only when what they are built from changed: the RBAC kinds, or the owners and
    /// namespaces of a Tenant — not its status, which quota admission writes on every charge.
    private func accessIndexes() async throws(BerthError) -> RBACCache.Entry {
        let prefixes = Self.rbacKinds.filter { $0.kind != "Tenant" }.map { storage.prefix($0, namespace: nil) }
        let counts = prefixes.map { admissionMirror.changes(under: $0) }
        let changes: [Int]? = counts.contains(where: { $0 == nil }) ? nil : counts.compactMap { $0 }
        let tenantChanges = admissionMirror.changes(under: storage.prefix(.tenant, namespace: nil))
        let now = ContinuousClock.now
        let cached = rbacCache.entry.withLock { $0 }
        if let cached {
            if let changes, let tenantChanges, cached.changes == changes, cached.tenantChanges == tenantChanges { return cached }
            if changes == nil, cached.changes == nil, now - cached.built < .seconds(1) { return cached }
        }
        var decodedTenants: [String: (revision: Int64, tenant: Tenant)] = [:]
        var tenantList: [Tenant] = []
        for kv in try await admissionList(.tenant) {
            if let known = cached?.decodedTenants[kv.key], known.revision == kv.modRevision {
                decodedTenants[kv.key] = known
                tenantList.append(known.tenant)
            } else if let tenant = try? ObjectCodec.decode(kv).decode(Tenant.self) {
                decodedTenants[kv.key] = (kv.modRevision, tenant)
                tenantList.append(tenant)
            }
        }
        let tenants = TenantIndex(tenants: tenantList)
        let index: RBACIndex
        if let cached, let changes, cached.changes == changes, cached.tenants.grants == tenants.grants {
            index = cached.index
        } else {
            func decode<T: Decodable>(_ descriptor: ResourceDescriptor, _ type: T.Type) async throws(BerthError) -> [T] {
                var objects: [T] = []
                for kv in try await admissionList(descriptor) {
                    if let object = try? ObjectCodec.decode(kv).decode(T.self) { objects.append(object) }
                }
                return objects
            }
            index = RBACIndex(clusterRoles: try await decode(.clusterRole, ClusterRole.self) + tenants.clusterRoles,
                              roles: try await decode(.role, Role.self),
                              clusterRoleBindings: try await decode(.clusterRoleBinding, ClusterRoleBinding.self) + tenants.clusterRoleBindings,
                              roleBindings: try await decode(.roleBinding, RoleBinding.self) + tenants.roleBindings)
        }
        let entry = RBACCache.Entry(changes: changes, tenantChanges: tenantChanges, built: now, index: index, tenants: tenants, decodedTenants: decodedTenants)
        rbacCache.entry.withLock { $0 = entry }
        return entry
    }

    /// Nobody grants what they do not hold (Kubernetes' escalation check): a Role or
    /// ClusterRole's rules must all be held by its writer where it applies, or the writer may
    /// `escalate`; a binding's role must be held whole, or the writer may `bind` it.
    func checkNoEscalation(_ descriptor: ResourceDescriptor, _ object: JSONValue) async throws(BerthError) {
        guard let user = RequestUser.current, !user.isMaster else { return }
        let index = try await rbacIndex()
        let namespace = descriptor.namespaced ? object.value(at: ["metadata", "namespace"])?.stringValue : nil
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let held = index.rules(for: user, namespace: namespace)
        func may(_ verb: String, _ resource: ResourceDescriptor, _ resourceName: String) -> Bool {
            let target = ResourceTarget(descriptor: resource, namespace: namespace, name: resourceName)
            return index.allows(RequestAttributes(user: user, verb: verb, path: "", target: target))
        }
        let requested: [PolicyRule]
        switch descriptor.kind {
        case "Role", "ClusterRole":
            if may("escalate", descriptor, name) { return }
            // Role and ClusterRole rules have one shape; ClusterRole reads both.
            requested = (try? object.decode(ClusterRole.self))?.rules ?? []
        default:
            let roleRef = (try? object.decode(RoleBinding.self).roleRef) ?? (try? object.decode(ClusterRoleBinding.self).roleRef)
            guard let roleRef else { return }
            let roleDescriptor: ResourceDescriptor = roleRef.kind == "Role" ? .role : .clusterRole
            if may("bind", roleDescriptor, roleRef.name) { return }
            requested = roleRef.kind == "Role" ? index.roles["\(namespace ?? "")/\(roleRef.name)"] ?? [] : index.clusterRoles[roleRef.name] ?? []
        }
        let missing = requested.filter { !RBACIndex.covers(held, $0) }
        guard !missing.isEmpty else { return }
        let described = missing.map { rule in
            "{APIGroups:\(rule.apiGroups ?? []), Resources:\(rule.resources ?? []), Verbs:\(rule.verbs)\((rule.nonResourceURLs ?? []).isEmpty ? "" : ", NonResourceURLs:\(rule.nonResourceURLs ?? [])")}"
        }.joined(separator: " ")
        throw BerthError(.forbidden, "\(descriptor.qualifiedResource) \"\(name)\" is forbidden: user \"\(user.name)\" (groups=\(user.groups)) is attempting to grant RBAC permissions not currently held:\n\(described)")
    }
}
