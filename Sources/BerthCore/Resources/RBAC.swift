/// `rbac.authorization.k8s.io/v1`: Role, ClusterRole, RoleBinding, ClusterRoleBinding.
public struct PolicyRule: Codable, Sendable, Hashable {
    public var verbs: [String]
    public var apiGroups: [String]?
    public var resources: [String]?
    public var resourceNames: [String]?
    public var nonResourceURLs: [String]?

    public init(verbs: [String], apiGroups: [String]? = nil, resources: [String]? = nil, resourceNames: [String]? = nil, nonResourceURLs: [String]? = nil) {
        self.verbs = verbs
        self.apiGroups = apiGroups
        self.resources = resources
        self.resourceNames = resourceNames
        self.nonResourceURLs = nonResourceURLs
    }
}

public struct Role: Codable, Sendable, Hashable {
    public var apiVersion: String? = "rbac.authorization.k8s.io/v1"
    public var kind: String? = "Role"
    public var metadata: ObjectMeta
    public var rules: [PolicyRule]?

    public init(metadata: ObjectMeta, rules: [PolicyRule]?) {
        self.metadata = metadata
        self.rules = rules
    }
}

public struct AggregationRule: Codable, Sendable, Hashable {
    public var clusterRoleSelectors: [LabelSelectorSpec]?

    public init(clusterRoleSelectors: [LabelSelectorSpec]?) { self.clusterRoleSelectors = clusterRoleSelectors }
}

public struct ClusterRole: Codable, Sendable, Hashable {
    public var apiVersion: String? = "rbac.authorization.k8s.io/v1"
    public var kind: String? = "ClusterRole"
    public var metadata: ObjectMeta
    public var rules: [PolicyRule]?
    public var aggregationRule: AggregationRule?

    public init(metadata: ObjectMeta, rules: [PolicyRule]?, aggregationRule: AggregationRule? = nil) {
        self.metadata = metadata
        self.rules = rules
        self.aggregationRule = aggregationRule
    }
}

public struct Subject: Codable, Sendable, Hashable {
    public var kind: String
    public var apiGroup: String?
    public var name: String
    public var namespace: String?

    public init(kind: String, apiGroup: String? = nil, name: String, namespace: String? = nil) {
        self.kind = kind
        self.apiGroup = apiGroup
        self.name = name
        self.namespace = namespace
    }
}

public struct RoleRef: Codable, Sendable, Hashable {
    public var apiGroup: String
    public var kind: String
    public var name: String

    public init(apiGroup: String = "rbac.authorization.k8s.io", kind: String, name: String) {
        self.apiGroup = apiGroup
        self.kind = kind
        self.name = name
    }
}

public struct RoleBinding: Codable, Sendable, Hashable {
    public var apiVersion: String? = "rbac.authorization.k8s.io/v1"
    public var kind: String? = "RoleBinding"
    public var metadata: ObjectMeta
    public var subjects: [Subject]?
    public var roleRef: RoleRef

    public init(metadata: ObjectMeta, subjects: [Subject]?, roleRef: RoleRef) {
        self.metadata = metadata
        self.subjects = subjects
        self.roleRef = roleRef
    }
}

public struct ClusterRoleBinding: Codable, Sendable, Hashable {
    public var apiVersion: String? = "rbac.authorization.k8s.io/v1"
    public var kind: String? = "ClusterRoleBinding"
    public var metadata: ObjectMeta
    public var subjects: [Subject]?
    public var roleRef: RoleRef

    public init(metadata: ObjectMeta, subjects: [Subject]?, roleRef: RoleRef) {
        self.metadata = metadata
        self.subjects = subjects
        self.roleRef = roleRef
    }
}

/// The checks Kubernetes' RBAC validation makes, each a 422 cause on its field.
enum RBACValidation {
    static let group = "rbac.authorization.k8s.io"

    static func rules(_ rules: [PolicyRule]?, namespaced: Bool, into errors: inout FieldErrors) {
        for (index, rule) in (rules ?? []).enumerated() {
            let path = "rules[\(index)]"
            if rule.verbs.isEmpty { errors.required("\(path).verbs") }
            let nonResource = !(rule.nonResourceURLs ?? []).isEmpty
            if nonResource && namespaced {
                errors.invalid("\(path).nonResourceURLs", (rule.nonResourceURLs ?? []).joined(separator: ","), "namespaced rules cannot apply to non-resource URLs")
            }
            if nonResource && (!(rule.resources ?? []).isEmpty || !(rule.apiGroups ?? []).isEmpty) {
                errors.invalid("\(path).nonResourceURLs", (rule.nonResourceURLs ?? []).joined(separator: ","), "rules cannot apply to both regular resources and non-resource URLs")
            }
            if !nonResource {
                if (rule.resources ?? []).isEmpty { errors.required("\(path).resources") }
                if rule.apiGroups == nil || rule.apiGroups!.isEmpty { errors.required("\(path).apiGroups") }
            }
        }
    }

    static func binding(subjects: [Subject]?, roleRef: RoleRef, oldRoleRef: RoleRef?, clusterScoped: Bool, into errors: inout FieldErrors) {
        if roleRef.apiGroup != group { errors.notSupported("roleRef.apiGroup", roleRef.apiGroup, [group]) }
        let kinds = clusterScoped ? ["ClusterRole"] : ["ClusterRole", "Role"]
        if !kinds.contains(roleRef.kind) { errors.notSupported("roleRef.kind", roleRef.kind, kinds) }
        if roleRef.name.isEmpty { errors.required("roleRef.name") }
        if let oldRoleRef, oldRoleRef != roleRef { errors.invalid("roleRef", roleRef.name, "cannot change roleRef") }
        for (index, subject) in (subjects ?? []).enumerated() {
            let path = "subjects[\(index)]"
            if subject.name.isEmpty { errors.required("\(path).name") }
            switch subject.kind {
            case "User", "Group":
                if let apiGroup = subject.apiGroup, apiGroup != group { errors.notSupported("\(path).apiGroup", apiGroup, [group]) }
            case "ServiceAccount":
                if let apiGroup = subject.apiGroup, !apiGroup.isEmpty { errors.notSupported("\(path).apiGroup", apiGroup, [""]) }
                if clusterScoped && (subject.namespace ?? "").isEmpty { errors.required("\(path).namespace") }
            default:
                errors.notSupported("\(path).kind", subject.kind, ["Group", "ServiceAccount", "User"])
            }
        }
    }
}

extension Role: APIResource {
    public static func validate(_ object: Role, old: Role?) -> FieldErrors {
        var errors = FieldErrors()
        RBACValidation.rules(object.rules, namespaced: true, into: &errors)
        return errors
    }
}

extension ClusterRole: APIResource {
    public static func validate(_ object: ClusterRole, old: ClusterRole?) -> FieldErrors {
        var errors = FieldErrors()
        RBACValidation.rules(object.rules, namespaced: false, into: &errors)
        return errors
    }
}

extension RoleBinding: APIResource {
    public static func validate(_ object: RoleBinding, old: RoleBinding?) -> FieldErrors {
        var errors = FieldErrors()
        RBACValidation.binding(subjects: object.subjects, roleRef: object.roleRef, oldRoleRef: old?.roleRef, clusterScoped: false, into: &errors)
        return errors
    }
}

extension ClusterRoleBinding: APIResource {
    public static func validate(_ object: ClusterRoleBinding, old: ClusterRoleBinding?) -> FieldErrors {
        var errors = FieldErrors()
        RBACValidation.binding(subjects: object.subjects, roleRef: object.roleRef, oldRoleRef: old?.roleRef, clusterScoped: true, into: &errors)
        return errors
    }
}
