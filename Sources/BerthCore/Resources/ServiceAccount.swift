/// `core/v1` ServiceAccount: the identity pods and programs run with, as
/// `system:serviceaccount:NAMESPACE:NAME`. Every namespace gets a `default` one; tokens for it
/// come from the `token` subresource (TokenRequest), signed by the cluster.
public struct ServiceAccount: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "ServiceAccount"
    public var metadata: ObjectMeta
    public var secrets: [ObjectReference]?
    public var imagePullSecrets: [NameReference]?
    public var automountServiceAccountToken: Bool?

    public init(metadata: ObjectMeta) { self.metadata = metadata }

    /// The user a ServiceAccount's token authenticates as, and its groups.
    public static func userName(namespace: String, name: String) -> String { "system:serviceaccount:\(namespace):\(name)" }
    public static func groups(namespace: String) -> [String] { ["system:serviceaccounts", "system:serviceaccounts:\(namespace)"] }
}

extension ServiceAccount: APIResource {}

extension ResourceDescriptor {
    public static let serviceAccount = ResourceDescriptor(
        ServiceAccount.self, plural: "serviceaccounts", shortNames: ["sa"], subresources: ["token"],
        columns: [TableColumn("Secrets", "integer", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."), ageColumn]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), TableCells.number(object["secrets"]?.arrayValue?.count ?? 0), TableCells.age(object, now: now)]
    }
}
