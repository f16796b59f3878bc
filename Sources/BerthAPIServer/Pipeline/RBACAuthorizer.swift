import BerthCore
import BerthStore
import Foundation
import Synchronization

/// RBAC in the authorization chain: the four kinds come from the in-memory mirror and are
/// indexed once per change (`RBACIndex`); a store without the mirror (etcd) is read again at
/// most once a second.
final class RBACCache: Sendable {
    struct Entry {
        let changes: [Int]?
        let built: ContinuousClock.Instant
        let index: RBACIndex
        let tenants: TenantIndex
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

    private func accessIndexes() async throws(BerthError) -> RBACCache.Entry {
        let prefixes = Self.rbacKinds.map { storage.prefix($0, namespace: nil) }
        let counts = prefixes.map { admissionMirror.changes(under: $0) }
        let changes: [Int]? = counts.contains(where: { $0 == nil }) ? nil : counts.compactMap { $0 }
        let now = ContinuousClock.now
        if let cached = rbacCache.entry.withLock({ $0 }) {
            if let changes, cached.changes == changes { return cached }
            if changes == nil, cached.changes == nil, now - cached.built < .seconds(1) { return cached }
        }
        func decode<T: Decodable>(_ descriptor: ResourceDescriptor, _ type: T.Type) async throws(BerthError) -> [T] {
            var objects: [T] = []
            for kv in try await admissionList(descriptor) {
                if let object = try? ObjectCodec.decode(kv).decode(T.self) { objects.append(object) }
            }
            return objects
        }
        let tenants = TenantIndex(tenants: try await decode(.tenant, Tenant.self))
        let index = RBACIndex(clusterRoles: try await decode(.clusterRole, ClusterRole.self) + tenants.clusterRoles,
                              roles: try await decode(.role, Role.self),
                              clusterRoleBindings: try await decode(.clusterRoleBinding, ClusterRoleBinding.self) + tenants.clusterRoleBindings,
                              roleBindings: try await decode(.roleBinding, RoleBinding.self) + tenants.roleBindings)
        let entry = RBACCache.Entry(changes: changes, built: now, index: index, tenants: tenants)
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
