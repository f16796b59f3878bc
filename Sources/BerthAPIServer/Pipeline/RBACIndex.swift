import BerthCore

/// The four RBAC kinds, parsed once and indexed for deciding requests (pure: built from
/// objects, asked questions). Rules a user holds are those of the ClusterRoles their
/// ClusterRoleBindings name, everywhere, plus those of the Roles and ClusterRoles their
/// RoleBindings in a namespace name, in that namespace. A ClusterRole with an
/// `aggregationRule` holds the rules of every ClusterRole its selectors match.
struct RBACIndex: Sendable {
    let clusterRoles: [String: [PolicyRule]]
    let roles: [String: [PolicyRule]]
    let clusterRoleBindings: [ClusterRoleBinding]
    let roleBindings: [String: [RoleBinding]]
    /// The namespaces each subject is bound in (`User:NAME`, `Group:NAME`; a ServiceAccount as
    /// its user name), for listing a user's namespaces without reading every binding.
    let boundNamespaces: [String: Set<String>]

    static let empty = RBACIndex(clusterRoles: [], roles: [], clusterRoleBindings: [], roleBindings: [])

    init(clusterRoles: [ClusterRole], roles: [Role], clusterRoleBindings: [ClusterRoleBinding], roleBindings: [RoleBinding]) {
        var resolved: [String: [PolicyRule]] = [:]
        for role in clusterRoles { resolved[role.metadata.name ?? ""] = role.rules ?? [] }
        // Aggregated roles may aggregate aggregated ones (admin takes edit, edit takes view):
        // resolve until nothing changes, a few rounds at most.
        let aggregating = clusterRoles.filter { !($0.aggregationRule?.clusterRoleSelectors ?? []).isEmpty }
        for _ in 0..<4 {
            var changed = false
            for role in aggregating {
                let parsed = (role.aggregationRule?.clusterRoleSelectors ?? []).compactMap { try? LabelSelector($0) }
                var rules = resolved[role.metadata.name ?? ""] ?? []
                for other in clusterRoles where other.metadata.name != role.metadata.name {
                    guard parsed.contains(where: { $0.matches(other.metadata.labels ?? [:]) }) else { continue }
                    for rule in resolved[other.metadata.name ?? ""] ?? [] where !rules.contains(rule) {
                        rules.append(rule)
                        changed = true
                    }
                }
                resolved[role.metadata.name ?? ""] = rules
            }
            if !changed { break }
        }
        self.clusterRoles = resolved
        var namespaced: [String: [PolicyRule]] = [:]
        for role in roles { namespaced["\(role.metadata.namespace ?? "")/\(role.metadata.name ?? "")"] = role.rules ?? [] }
        self.roles = namespaced
        self.clusterRoleBindings = clusterRoleBindings
        self.roleBindings = Dictionary(grouping: roleBindings) { $0.metadata.namespace ?? "" }
        var bound: [String: Set<String>] = [:]
        for binding in roleBindings {
            let namespace = binding.metadata.namespace ?? ""
            for subject in binding.subjects ?? [] {
                guard let key = Self.subjectKey(subject, bindingNamespace: namespace) else { continue }
                bound[key, default: []].insert(namespace)
            }
        }
        boundNamespaces = bound
    }

    static func subjectKey(_ subject: Subject, bindingNamespace: String) -> String? {
        switch subject.kind {
        case "User": return "User:" + subject.name
        case "Group": return "Group:" + subject.name
        case "ServiceAccount": return "User:system:serviceaccount:\(subject.namespace ?? bindingNamespace):\(subject.name)"
        default: return nil
        }
    }

    /// Whether a binding's subject is this user: by name, by group, or as a ServiceAccount.
    static func matches(_ subject: Subject, _ user: UserInfo, bindingNamespace: String?) -> Bool {
        switch subject.kind {
        case "User": return subject.name == user.name
        case "Group": return user.groups.contains(subject.name)
        case "ServiceAccount":
            let namespace = subject.namespace ?? bindingNamespace ?? ""
            return user.name == "system:serviceaccount:\(namespace):\(subject.name)"
        default: return false
        }
    }

    /// The rules the user holds everywhere (cluster bindings).
    func clusterRules(for user: UserInfo) -> [PolicyRule] {
        clusterRoleBindings.filter { binding in (binding.subjects ?? []).contains { Self.matches($0, user, bindingNamespace: nil) } }
            .flatMap { clusterRoles[$0.roleRef.name] ?? [] }
    }

    /// The rules the user holds in one namespace through its RoleBindings.
    func namespaceRules(for user: UserInfo, namespace: String) -> [PolicyRule] {
        (roleBindings[namespace] ?? []).filter { binding in (binding.subjects ?? []).contains { Self.matches($0, user, bindingNamespace: namespace) } }
            .flatMap { binding -> [PolicyRule] in
                binding.roleRef.kind == "Role" ? roles["\(namespace)/\(binding.roleRef.name)"] ?? [] : clusterRoles[binding.roleRef.name] ?? []
            }
    }

    /// Every rule that applies to a request in `namespace` (nil: cluster scope).
    func rules(for user: UserInfo, namespace: String?) -> [PolicyRule] {
        clusterRules(for: user) + (namespace.map { namespaceRules(for: user, namespace: $0) } ?? [])
    }

    func allows(_ attributes: RequestAttributes) -> Bool {
        rules(for: attributes.user, namespace: attributes.namespace).contains { Self.rule($0, allows: attributes) }
    }

    /// The namespaces in which the user holds any rule (for listing only those).
    func namespacesWithRules(for user: UserInfo) -> Set<String> {
        var names = boundNamespaces["User:" + user.name] ?? []
        for group in user.groups { names.formUnion(boundNamespaces["Group:" + group] ?? []) }
        return names
    }

    static func rule(_ rule: PolicyRule, allows attributes: RequestAttributes) -> Bool {
        guard rule.verbs.contains("*") || rule.verbs.contains(attributes.verb) else { return false }
        guard attributes.isResourceRequest else {
            return (rule.nonResourceURLs ?? []).contains { url in
                url == "*" || url == attributes.path || (url.hasSuffix("*") && attributes.path.hasPrefix(String(url.dropLast())))
            }
        }
        let groups = rule.apiGroups ?? []
        guard groups.contains("*") || groups.contains(attributes.apiGroup) else { return false }
        let resources = rule.resources ?? []
        let wanted = attributes.qualifiedResource
        let subresourceWildcard = attributes.subresource.map { "*/\($0)" }
        guard resources.contains("*") || resources.contains(wanted) || subresourceWildcard.map(resources.contains) == true else { return false }
        let names = rule.resourceNames ?? []
        if names.isEmpty { return true }
        guard let name = attributes.name else { return false }
        return names.contains(name)
    }

    /// Whether `held` covers everything `requested` grants (no escalation): each verb, group,
    /// resource and name it names must be allowed by one held rule; a wildcard only by a wildcard.
    static func covers(_ held: [PolicyRule], _ requested: PolicyRule) -> Bool {
        func includes(_ list: [String]?, _ value: String) -> Bool { (list ?? []).contains("*") || (list ?? []).contains(value) }
        for verb in requested.verbs {
            if let urls = requested.nonResourceURLs, !urls.isEmpty {
                for url in urls where !held.contains(where: { includes($0.verbs, verb) && (includes($0.nonResourceURLs, url) || ($0.nonResourceURLs ?? []).contains { held in
                    held.hasSuffix("*") && url.hasPrefix(String(held.dropLast()))
                }) }) {
                    return false
                }
                continue
            }
            for group in requested.apiGroups ?? [] {
                for resource in requested.resources ?? [] {
                    let names = requested.resourceNames ?? []
                    let allowed = held.contains { rule in
                        guard includes(rule.verbs, verb), includes(rule.apiGroups, group) else { return false }
                        let resources = rule.resources ?? []
                        let subresource = resource.split(separator: "/", maxSplits: 1).dropFirst().first.map { "*/\($0)" }
                        guard resources.contains("*") || resources.contains(resource) || subresource.map(resources.contains) == true else { return false }
                        let heldNames = rule.resourceNames ?? []
                        return heldNames.isEmpty || (!names.isEmpty && names.allSatisfy(heldNames.contains))
                    }
                    if !allowed { return false }
                }
            }
        }
        return true
    }
}
