import Foundation

/// `berth.dev/v1` Tenant (cluster-scoped): a department or team — its owners, the namespaces it
/// holds, a quota over all of them together, an optional node pool its pods are kept to, and
/// network isolation from other tenants.
///
/// A namespace belongs to a tenant when it carries the label `berth.dev/tenant: NAME`; the
/// tenant controller labels the namespaces `spec.namespaces` names and adds to that list the
/// namespaces an owner created (admission labels those). Owners hold the `admin` role in each of
/// the tenant's namespaces, may create namespaces (which join the tenant), and see their tenant.
public struct Tenant: Codable, Sendable, Hashable {
    public var apiVersion: String? = "berth.dev/v1"
    public var kind: String? = "Tenant"
    public var metadata: ObjectMeta
    public var spec: TenantSpec?
    public var status: TenantStatus?

    public init(metadata: ObjectMeta, spec: TenantSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }

    /// The namespace label naming the tenant a namespace belongs to.
    public static let label = "berth.dev/tenant"
    /// The namespace annotation that isolates the tenant's pods on the network (PolicyNamespace).
    public static let isolationAnnotation = "berth.dev/tenant"
}

public struct TenantSpec: Codable, Sendable, Hashable {
    public var owners: [Subject]?
    public var namespaces: [String]?
    public var quota: TenantQuota?
    public var nodeSelector: [String: String]?
    public var isolation: Bool?

    public init(owners: [Subject]? = nil, namespaces: [String]? = nil, quota: TenantQuota? = nil, nodeSelector: [String: String]? = nil, isolation: Bool? = nil) {
        self.owners = owners
        self.namespaces = namespaces
        self.quota = quota
        self.nodeSelector = nodeSelector
        self.isolation = isolation
    }
}

public struct TenantQuota: Codable, Sendable, Hashable {
    public var hard: [String: Quantity]?

    public init(hard: [String: Quantity]? = nil) { self.hard = hard }
}

public struct TenantStatus: Codable, Sendable, Hashable {
    /// The namespaces that carry the tenant's label.
    public var namespaces: [String]?
    public var hard: [String: Quantity]?
    public var used: [String: Quantity]?

    public init(namespaces: [String]? = nil, hard: [String: Quantity]? = nil, used: [String: Quantity]? = nil) {
        self.namespaces = namespaces
        self.hard = hard
        self.used = used
    }
}

extension Tenant: APIResource {
    public static let ownerKinds = ["User", "Group"]

    public static func validate(_ object: Tenant, old: Tenant?) -> FieldErrors {
        var errors = FieldErrors()
        let spec = object.spec
        for (index, owner) in (spec?.owners ?? []).enumerated() {
            if !ownerKinds.contains(owner.kind) { errors.notSupported("spec.owners[\(index)].kind", owner.kind, ownerKinds) }
            if owner.name.isEmpty { errors.required("spec.owners[\(index)].name") }
        }
        var seen: Set<String> = []
        for (index, namespace) in (spec?.namespaces ?? []).enumerated() {
            errors.check("spec.namespaces[\(index)]", namespace, NameValidation.dns1123LabelProblem(namespace))
            if !seen.insert(namespace).inserted { errors.duplicate("spec.namespaces[\(index)]", namespace) }
        }
        for (name, value) in (spec?.quota?.hard ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !QuotaPolicy.isQuotaResourceName(name) {
                errors.invalid("spec.quota.hard[\(name)]", name, "must be a standard resource type or fully qualified")
            }
            if value.nanos < 0 { errors.invalid("spec.quota.hard[\(name)]", value.description, "must be greater than or equal to 0") }
        }
        for (key, value) in (spec?.nodeSelector ?? [:]).sorted(by: { $0.key < $1.key }) {
            errors.check("spec.nodeSelector", key, NameValidation.qualifiedNameProblem(key))
            errors.check("spec.nodeSelector[\(key)]", value, NameValidation.labelValueProblem(value))
        }
        return errors
    }

    /// Whether the user (by name or one of their groups) owns the tenant.
    public func isOwned(byUser user: String, groups: [String]) -> Bool {
        (spec?.owners ?? []).contains { owner in
            owner.kind == "User" ? owner.name == user : owner.kind == "Group" && groups.contains(owner.name)
        }
    }
}

extension ResourceDescriptor {
    public static let tenant = ResourceDescriptor(
        Tenant.self, group: "berth.dev", plural: "tenants", namespaced: false, subresources: ["status"], tracksGeneration: true,
        columns: [
            TableColumn("Owners", "Users and groups that own the tenant."),
            TableColumn("Namespaces", "The namespaces the tenant holds."),
            TableColumn("Isolated", "Whether the tenant's pods are isolated from other tenants on the network."),
            ageColumn,
            TableColumn("Node-Selector", priority: 1, "The nodes the tenant's pods run on."),
        ]
    ) { object, now in
        let owners = (object.value(at: ["spec", "owners"])?.arrayValue ?? []).map { "\($0["kind"]?.stringValue ?? "")/\($0["name"]?.stringValue ?? "")" }
        let namespaces = (object.value(at: ["spec", "namespaces"])?.arrayValue ?? []).compactMap(\.stringValue)
        let selector = (object.value(at: ["spec", "nodeSelector"])?.objectValue ?? [:]).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.stringValue ?? "")" }
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), TableCells.list(owners), TableCells.list(namespaces),
                .string(object.value(at: ["spec", "isolation"]) == .bool(true) ? "true" : "false"), TableCells.age(object, now: now),
                TableCells.list(selector)]
    }
}
