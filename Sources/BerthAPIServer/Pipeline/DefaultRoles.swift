import BerthCore

/// The roles every cluster starts with, as Kubernetes names them: `cluster-admin` (everything),
/// and `admin`, `edit`, `view` for use in a namespace (by a RoleBinding) or everywhere. The three
/// are aggregated, as in Kubernetes: their rules are those of the ClusterRoles labelled
/// `rbac.authorization.k8s.io/aggregate-to-admin|edit|view: "true"` (so a custom kind's roles
/// can join them), with `view` ⊂ `edit` ⊂ `admin`. Existing roles of these names are left as
/// they are (a user may have changed them).
enum DefaultRoles {
    static let aggregateLabel = "rbac.authorization.k8s.io/aggregate-to-"
    static let readVerbs = ["get", "list", "watch"]
    static let writeVerbs = ["create", "delete", "deletecollection", "patch", "update"]

    static func rule(_ verbs: [String], _ group: String, _ resources: [String]) -> PolicyRule {
        PolicyRule(verbs: verbs, apiGroups: [group], resources: resources)
    }

    static var clusterRoles: [ClusterRole] {
        func aggregated(_ name: String, into parents: [String]) -> ClusterRole {
            var metadata = ObjectMeta(name: name)
            metadata.labels = Dictionary(uniqueKeysWithValues: parents.map { ("\(aggregateLabel)\($0)", "true") })
            metadata.labels?["kubernetes.io/bootstrapping"] = "rbac-defaults"
            let selector = LabelSelectorSpec(matchLabels: ["\(aggregateLabel)\(name)": "true"])
            return ClusterRole(metadata: metadata, rules: [], aggregationRule: AggregationRule(clusterRoleSelectors: [selector]))
        }
        func rules(_ name: String, into parent: String, _ rules: [PolicyRule]) -> ClusterRole {
            ClusterRole(metadata: ObjectMeta(name: "system:aggregate-to-\(name)", labels: ["\(aggregateLabel)\(parent)": "true", "kubernetes.io/bootstrapping": "rbac-defaults"]),
                        rules: rules)
        }
        let viewRules = [
            rule(readVerbs, "", ["pods", "pods/log", "pods/status", "services", "services/status", "endpoints", "configmaps", "events",
                                 "replicationcontrollers", "persistentvolumeclaims", "serviceaccounts", "resourcequotas", "limitranges", "namespaces/status"]),
            rule(readVerbs, "", ["namespaces"]),
            rule(readVerbs, "apps", ["deployments", "deployments/status", "deployments/scale", "replicasets", "replicasets/status", "replicasets/scale",
                                     "daemonsets", "daemonsets/status", "statefulsets", "controllerrevisions"]),
            rule(readVerbs, "batch", ["jobs", "jobs/status", "cronjobs", "cronjobs/status"]),
            rule(readVerbs, "networking.k8s.io", ["networkpolicies", "ingresses"]),
            rule(readVerbs, "policy", ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
            rule(readVerbs, "discovery.k8s.io", ["endpointslices"]),
        ]
        let editRules = [
            rule(writeVerbs + readVerbs, "", ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "pods/eviction",
                                              "services", "endpoints", "configmaps", "secrets", "persistentvolumeclaims", "replicationcontrollers",
                                              "serviceaccounts"]),
            rule(["create"], "", ["serviceaccounts/token"]),
            rule(writeVerbs + readVerbs, "apps", ["deployments", "deployments/scale", "deployments/rollback", "replicasets", "replicasets/scale",
                                                  "daemonsets", "statefulsets"]),
            rule(writeVerbs + readVerbs, "batch", ["jobs", "cronjobs"]),
            rule(writeVerbs + readVerbs, "networking.k8s.io", ["networkpolicies", "ingresses"]),
            rule(writeVerbs + readVerbs, "policy", ["poddisruptionbudgets"]),
        ]
        let adminRules = [
            rule(writeVerbs + readVerbs, "rbac.authorization.k8s.io", ["roles", "rolebindings"]),
            rule(["create"], "authorization.k8s.io", ["localsubjectaccessreviews"]),
        ]
        var clusterAdmin = ClusterRole(metadata: ObjectMeta(name: "cluster-admin", labels: ["kubernetes.io/bootstrapping": "rbac-defaults"]), rules: [
            PolicyRule(verbs: ["*"], apiGroups: ["*"], resources: ["*"]),
            PolicyRule(verbs: ["*"], nonResourceURLs: ["*"]),
        ])
        clusterAdmin.metadata.annotations = ["rbac.authorization.kubernetes.io/autoupdate": "true"]
        return [
            clusterAdmin,
            aggregated("admin", into: []), aggregated("edit", into: ["admin"]), aggregated("view", into: ["edit", "admin"]),
            rules("view", into: "view", viewRules), rules("edit", into: "edit", editRules), rules("admin", into: "admin", adminRules),
        ]
    }

    static var clusterRoleBindings: [ClusterRoleBinding] {
        [ClusterRoleBinding(metadata: ObjectMeta(name: "cluster-admin", labels: ["kubernetes.io/bootstrapping": "rbac-defaults"]),
                            subjects: [Subject(kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: UserInfo.masters)],
                            roleRef: RoleRef(kind: "ClusterRole", name: "cluster-admin"))]
    }
}

extension APIServer {
    func createDefaultRoles() async throws(BerthError) {
        for role in DefaultRoles.clusterRoles { try await createIfAbsent(.clusterRole, role) }
        for binding in DefaultRoles.clusterRoleBindings { try await createIfAbsent(.clusterRoleBinding, binding) }
    }
}
