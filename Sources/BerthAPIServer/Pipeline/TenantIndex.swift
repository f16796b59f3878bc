import BerthCore

/// The Tenants, indexed (pure), and what owning one grants, said in RBAC's own terms so the
/// authorizer, `kubectl auth can-i`, the namespace list filter and the escalation check all see
/// it the same way. The grants are derived, not stored: they follow the Tenant at once and
/// cannot be deleted apart from it.
///
/// - in each namespace the tenant holds, owners are bound to the `admin` ClusterRole and may get
///   and delete the namespace itself;
/// - owners may create namespaces (admission makes them join the tenant) and read their tenant.
struct TenantIndex: Sendable {
    let tenants: [String: Tenant]

    static let empty = TenantIndex(tenants: [])

    init(tenants: [Tenant]) {
        var byName: [String: Tenant] = [:]
        for tenant in tenants { byName[tenant.metadata.name ?? ""] = tenant }
        self.tenants = byName
    }

    /// What the grants are made of: each tenant's owners and namespaces. Equal grants mean the
    /// RBAC index built from them still holds.
    struct Grant: Hashable, Sendable {
        let owners: [Subject]
        let namespaces: Set<String>
    }

    var grants: [String: Grant] {
        tenants.mapValues { Grant(owners: $0.spec?.owners ?? [], namespaces: Set(($0.spec?.namespaces ?? []) + ($0.status?.namespaces ?? []))) }
    }

    /// The tenants this user owns, by name.
    func owned(by user: UserInfo) -> [String] {
        tenants.filter { $0.value.isOwned(byUser: user.name, groups: user.groups) }.keys.sorted()
    }

    /// The tenant whose `spec.namespaces` lists the namespace.
    func tenant(listing namespace: String) -> String? {
        tenants.first { ($0.value.spec?.namespaces ?? []).contains(namespace) }?.key
    }

    static let namespaceOwnerRole = "berth:tenant-namespace-owner"
    static let creatorRole = "berth:tenant-owner"
    static func readerRole(_ tenant: String) -> String { "berth:tenant:\(tenant)" }

    /// The ClusterRoles the derived bindings name (besides Kubernetes' `admin`).
    var clusterRoles: [ClusterRole] {
        var roles = [
            ClusterRole(metadata: ObjectMeta(name: Self.namespaceOwnerRole),
                        rules: [PolicyRule(verbs: ["get", "delete"], apiGroups: [""], resources: ["namespaces"])]),
            ClusterRole(metadata: ObjectMeta(name: Self.creatorRole),
                        rules: [PolicyRule(verbs: ["create"], apiGroups: [""], resources: ["namespaces"])]),
        ]
        for name in tenants.keys.sorted() {
            roles.append(ClusterRole(metadata: ObjectMeta(name: Self.readerRole(name)),
                                     rules: [PolicyRule(verbs: ["get", "watch"], apiGroups: ["berth.dev"], resources: ["tenants"], resourceNames: [name])]))
        }
        return roles
    }

    var clusterRoleBindings: [ClusterRoleBinding] {
        var bindings: [ClusterRoleBinding] = []
        var allOwners: [Subject] = []
        for (name, tenant) in tenants.sorted(by: { $0.key < $1.key }) {
            let owners = tenant.spec?.owners ?? []
            guard !owners.isEmpty else { continue }
            for owner in owners where !allOwners.contains(owner) { allOwners.append(owner) }
            bindings.append(ClusterRoleBinding(metadata: ObjectMeta(name: Self.readerRole(name)),
                                               subjects: owners, roleRef: RoleRef(kind: "ClusterRole", name: Self.readerRole(name))))
        }
        if !allOwners.isEmpty {
            bindings.append(ClusterRoleBinding(metadata: ObjectMeta(name: Self.creatorRole),
                                               subjects: allOwners, roleRef: RoleRef(kind: "ClusterRole", name: Self.creatorRole)))
        }
        return bindings
    }

    var roleBindings: [RoleBinding] {
        var bindings: [RoleBinding] = []
        for (_, tenant) in tenants.sorted(by: { $0.key < $1.key }) {
            let owners = tenant.spec?.owners ?? []
            guard !owners.isEmpty else { continue }
            for namespace in Set((tenant.spec?.namespaces ?? []) + (tenant.status?.namespaces ?? [])).sorted() {
                bindings.append(RoleBinding(metadata: ObjectMeta(name: "berth:tenant-admin", namespace: namespace),
                                            subjects: owners, roleRef: RoleRef(kind: "ClusterRole", name: "admin")))
                bindings.append(RoleBinding(metadata: ObjectMeta(name: Self.namespaceOwnerRole, namespace: namespace),
                                            subjects: owners, roleRef: RoleRef(kind: "ClusterRole", name: Self.namespaceOwnerRole)))
            }
        }
        return bindings
    }
}
