import Foundation

/// The `rbac.authorization.k8s.io/v1` kinds, with kubectl's columns. Their names are path segments, as Kubernetes
/// validates them (`system:monitoring`, `berth:prometheus`), not DNS subdomains.
extension ResourceDescriptor {
    static let createdAtColumn = TableColumn("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.")

    static func createdAt(_ object: JSONValue) -> JSONValue { object.value(at: ["metadata", "creationTimestamp"]) ?? "" }

    public static let role = ResourceDescriptor(
        Role.self, group: "rbac.authorization.k8s.io", plural: "roles", nameRule: .path, columns: [createdAtColumn]
    ) { object, _ in [.string(TableCells.string(object, "metadata", "name") ?? ""), createdAt(object)] }

    public static let clusterRole = ResourceDescriptor(
        ClusterRole.self, group: "rbac.authorization.k8s.io", plural: "clusterroles", namespaced: false, nameRule: .path, columns: [createdAtColumn]
    ) { object, _ in [.string(TableCells.string(object, "metadata", "name") ?? ""), createdAt(object)] }

    static let bindingColumns = [
        TableColumn("Role", "RoleRef is the reference to the role."), ageColumn,
        TableColumn("Users", priority: 1, "The users bound."), TableColumn("Groups", priority: 1, "The groups bound."),
        TableColumn("ServiceAccounts", priority: 1, "The service accounts bound."),
    ]

    static func bindingRow(_ object: JSONValue, _ now: Date) -> [JSONValue] {
        let subjects = object["subjects"]?.arrayValue ?? []
        func names(_ kind: String) -> String {
            subjects.filter { $0["kind"]?.stringValue == kind }.map { subject in
                let name = subject["name"]?.stringValue ?? ""
                return kind == "ServiceAccount" ? "\(subject["namespace"]?.stringValue ?? ""):\(name)" : name
            }.joined(separator: ", ")
        }
        return [.string(TableCells.string(object, "metadata", "name") ?? ""),
                .string("\(TableCells.string(object, "roleRef", "kind") ?? "")/\(TableCells.string(object, "roleRef", "name") ?? "")"),
                TableCells.age(object, now: now), .string(names("User")), .string(names("Group")), .string(names("ServiceAccount"))]
    }

    public static let roleBinding = ResourceDescriptor(
        RoleBinding.self, group: "rbac.authorization.k8s.io", plural: "rolebindings", nameRule: .path, columns: bindingColumns, row: bindingRow)

    public static let clusterRoleBinding = ResourceDescriptor(
        ClusterRoleBinding.self, group: "rbac.authorization.k8s.io", plural: "clusterrolebindings", namespaced: false, nameRule: .path, columns: bindingColumns, row: bindingRow)
}
