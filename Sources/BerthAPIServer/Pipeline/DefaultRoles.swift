import BerthCore
import BerthStore

/// The roles every cluster starts with, as Kubernetes names them: `cluster-admin` (everything),
/// and `admin`, `edit`, `view` for use in a namespace (by a RoleBinding) or everywhere. The three
/// are aggregated, as in Kubernetes: their rules are those of the ClusterRoles labelled
/// `rbac.authorization.k8s.io/aggregate-to-admin|edit|view: "true"` (so a custom kind's roles
/// can join them), with `view` ⊂ `edit` ⊂ `admin`. Existing roles of these names are left as
/// they are (a user may have changed them).
public enum DefaultRoles {
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
                                     "daemonsets", "daemonsets/status", "statefulsets", "statefulsets/status", "statefulsets/scale", "controllerrevisions"]),
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
                                                  "daemonsets", "statefulsets", "statefulsets/scale"]),
            rule(writeVerbs + readVerbs, "batch", ["jobs", "cronjobs"]),
            rule(writeVerbs + readVerbs, "networking.k8s.io", ["networkpolicies", "ingresses"]),
            rule(writeVerbs + readVerbs, "policy", ["poddisruptionbudgets"]),
            rule(writeVerbs + readVerbs, "snapshot.storage.k8s.io", ["volumesnapshots"]),
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
            // The built-in registry's repositories (roles of their own, so clusters made before
            // the registry get them at the next start): view pulls, edit pushes, admin deletes.
            rules("view-registry", into: "view", [rule(["get", "list"], "registry.berth.dev", ["repositories"])]),
            rules("edit-registry", into: "edit", [rule(["create", "update"], "registry.berth.dev", ["repositories"])]),
            rules("admin-registry", into: "admin", [rule(["delete"], "registry.berth.dev", ["repositories"])]),
            // Gateway API routes, as Ingresses: a namespace's editors publish their apps.
            rules("view-gateway", into: "view", [rule(readVerbs, GatewayValidation.group, ["gateways", "gateways/status", "httproutes", "httproutes/status"])]),
            rules("edit-gateway", into: "edit", [rule(writeVerbs + readVerbs, GatewayValidation.group, ["gateways", "httproutes"])]),
            // Autoscalers and the resource metrics they read (Kubernetes' `system:aggregated-metrics-reader`).
            rules("view-autoscaling", into: "view", [rule(readVerbs, "autoscaling", ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
                                                     rule(readVerbs, "metrics.k8s.io", ["pods", "nodes"]),
                                                     rule(readVerbs, "berth.dev", ["prometheusmetrics"])]),
            rules("edit-autoscaling", into: "edit", [rule(writeVerbs + readVerbs, "autoscaling", ["horizontalpodautoscalers"]),
                                                     rule(writeVerbs + readVerbs, "berth.dev", ["prometheusmetrics"])]),
            // Scrapers: Kubernetes' role of this name, bound to the group of the same name.
            ClusterRole(metadata: ObjectMeta(name: monitoringRole, labels: ["kubernetes.io/bootstrapping": "rbac-defaults"]), rules: [
                PolicyRule(verbs: ["get"], nonResourceURLs: ["/metrics", "/metrics/*", "/livez", "/readyz", "/healthz", APIServer.discoveryTargetsPath]),
            ]),
        ]
    }

    /// Reads `/metrics` and the health paths (`system:monitoring`, as in Kubernetes).
    public static let monitoringRole = "system:monitoring"

    /// The controllers' and scheduler's user (they run in the server, on a token of their own).
    public static let controllersUser = "system:berth-controllers"

    /// What the controllers and the scheduler do, and no more: read everything (quota counts
    /// and garbage collection look at any kind), write the kinds they manage and the status of
    /// those they report on, bind and evict pods, delete dependents; no Secrets written, no
    /// RBAC, no escalate, bind or impersonate; one non-resource URL: the registry's usage per
    /// namespace, which quota recounts read.
    static var controllersRole: ClusterRole {
        let change = ["create", "update", "patch", "delete"]
        let status = ["update", "patch"]
        var role = ClusterRole(metadata: ObjectMeta(name: controllersUser, labels: ["kubernetes.io/bootstrapping": "rbac-defaults"]), rules: [
            PolicyRule(verbs: readVerbs, apiGroups: ["*"], resources: ["*"]),
            PolicyRule(verbs: ["delete"], apiGroups: ["*"], resources: ["*"]),
            rule(change, "", ["pods", "endpoints", "events", "serviceaccounts", "configmaps", "persistentvolumes", "persistentvolumeclaims"]),
            rule(status, "", ["pods/status", "nodes", "nodes/status", "services/status", "resourcequotas/status", "namespaces/status",
                              "persistentvolumes/status", "persistentvolumeclaims/status"]),
            rule(["create"], "", ["pods/binding", "pods/eviction"]),
            rule(change, "apps", ["replicasets", "deployments", "daemonsets", "statefulsets", "controllerrevisions", "replicasets/scale", "deployments/scale",
                                  "statefulsets/scale"]),
            rule(status, "apps", ["replicasets/status", "deployments/status", "daemonsets/status", "statefulsets/status"]),
            rule(change, "batch", ["jobs", "cronjobs"]),
            rule(status, "batch", ["jobs/status", "cronjobs/status"]),
            rule(change, "discovery.k8s.io", ["endpointslices"]),
            rule(change, "coordination.k8s.io", ["leases"]),
            rule(change, "events.k8s.io", ["events"]),
            rule(status, "policy", ["poddisruptionbudgets/status"]),
            rule(status, "berth.dev", ["ippools", "ippools/status", "tenants", "tenants/status", "loadbalancerpools/status"]),
            rule(status, "autoscaling", ["horizontalpodautoscalers/status"]),
            rule(change, "snapshot.storage.k8s.io", ["volumesnapshotcontents"]),
            rule(status, "snapshot.storage.k8s.io", ["volumesnapshots/status", "volumesnapshotcontents/status"]),
            PolicyRule(verbs: ["get"], nonResourceURLs: [RegistryPaths.usage]),
        ])
        role.metadata.annotations = ["rbac.authorization.kubernetes.io/autoupdate": "true"]
        return role
    }

    static var controllersBinding: ClusterRoleBinding {
        ClusterRoleBinding(metadata: ObjectMeta(name: controllersUser, labels: ["kubernetes.io/bootstrapping": "rbac-defaults"]),
                           subjects: [Subject(kind: "User", apiGroup: "rbac.authorization.k8s.io", name: controllersUser)],
                           roleRef: RoleRef(kind: "ClusterRole", name: controllersUser))
    }

    static var clusterRoleBindings: [ClusterRoleBinding] {
        [ClusterRoleBinding(metadata: ObjectMeta(name: "cluster-admin", labels: ["kubernetes.io/bootstrapping": "rbac-defaults"]),
                            subjects: [Subject(kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: UserInfo.masters)],
                            roleRef: RoleRef(kind: "ClusterRole", name: "cluster-admin")),
         ClusterRoleBinding(metadata: ObjectMeta(name: monitoringRole, labels: ["kubernetes.io/bootstrapping": "rbac-defaults"]),
                            subjects: [Subject(kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: monitoringRole)],
                            roleRef: RoleRef(kind: "ClusterRole", name: monitoringRole))]
    }
}

extension APIServer {
    func createDefaultRoles() async throws(BerthError) {
        for role in DefaultRoles.clusterRoles { try await createIfAbsent(.clusterRole, role) }
        for binding in DefaultRoles.clusterRoleBindings { try await createIfAbsent(.clusterRoleBinding, binding) }
        // Berth's own parts' role follows the version that runs (as Kubernetes reconciles its
        // system roles at start).
        try await putSystemObject(.clusterRole, DefaultRoles.controllersRole, name: DefaultRoles.controllersUser)
        try await putSystemObject(.clusterRoleBinding, DefaultRoles.controllersBinding, name: DefaultRoles.controllersUser)
    }

    /// Stores a built-in object, replacing what is stored under its name if it differs.
    func putSystemObject(_ descriptor: ResourceDescriptor, _ value: some Encodable, name: String) async throws(BerthError) {
        var object = try JSONValue(encoding: value)
        let key = storage.key(descriptor, namespace: nil, name: name)
        if let current = try await storage.kv.get(key), let stored = try? ObjectCodec.decode(current) {
            var comparable = stored
            for field in ["uid", "creationTimestamp", "resourceVersion"] { comparable.set(nil, at: ["metadata", field]) }
            if comparable == object { return }
            object.set(stored.value(at: ["metadata", "uid"]), at: ["metadata", "uid"])
            object.set(stored.value(at: ["metadata", "creationTimestamp"]), at: ["metadata", "creationTimestamp"])
        } else {
            object.set(.string(ObjectUID.make()), at: ["metadata", "uid"])
            object.set(.string(clock.timestamp()), at: ["metadata", "creationTimestamp"])
        }
        _ = try await storage.kv.put(key, ObjectCodec.encode(object))
    }
}
