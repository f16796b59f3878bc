import BerthCore

/// The wire shapes of the protobuf messages typed Kubernetes clients send on create and update
/// (`kubectl create deployment|namespace|configmap|secret|service`): field numbers and JSON
/// names of the fields Berth reads, written from the Kubernetes API's protobuf definitions.
/// A field outside this table that carries data is refused rather than dropped.
enum ProtobufSchema {
    indirect enum FieldType: Sendable {
        case string, bytes, bool, int32, int64
        /// An integer Go keeps as a plain value, where 0 means "not set" (hostPort, nodePort).
        case int32OrUnset
        case message(String)
        /// `map<K, V>`: repeated entries with the key in field 1 and the value in field 2.
        case map(FieldType)
        /// `resource.Quantity`: its string form in field 1.
        case quantity
        /// `intstr.IntOrString`: type (1), intVal (2), strVal (3).
        case intOrString
        /// `meta/v1.Time`: server-set timestamps, ignored on input.
        case ignoredTime
    }

    struct Field: Sendable {
        let name: String
        let type: FieldType
        let repeated: Bool
    }

    static func f(_ name: String, _ type: FieldType, repeated: Bool = false) -> Field { Field(name: name, type: type, repeated: repeated) }

    /// Root message per `kind`.
    static let roots: [String: String] = [
        "Deployment": "Deployment", "Namespace": "Namespace", "ConfigMap": "ConfigMap", "Secret": "Secret", "Service": "Service",
        "Pod": "Pod", "ReplicaSet": "ReplicaSet", "DaemonSet": "DaemonSet", "PodDisruptionBudget": "PodDisruptionBudget",
        "PriorityClass": "PriorityClass", "Job": "Job", "CronJob": "CronJob",
        "Role": "Role", "ClusterRole": "ClusterRole", "RoleBinding": "RoleBinding", "ClusterRoleBinding": "RoleBinding",
        "SelfSubjectAccessReview": "AccessReview", "SubjectAccessReview": "AccessReview", "SelfSubjectRulesReview": "RulesReview",
        "SelfSubjectReview": "SelfSubjectReview", "TokenRequest": "TokenRequest", "ServiceAccount": "ServiceAccount",
        "ResourceQuota": "ResourceQuota", "CertificateSigningRequest": "CertificateSigningRequest",
        "HorizontalPodAutoscaler": "HorizontalPodAutoscaler",
    ]

    static let messages: [String: [Int: Field]] = autoscaling.merging(core) { $1 }

    /// `autoscaling/v2` (what `kubectl autoscale` sends).
    static let autoscaling: [String: [Int: Field]] = [
        "HorizontalPodAutoscaler": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("HPASpec")), 3: f("status", .message("Ignored"))],
        "HPASpec": [1: f("scaleTargetRef", .message("CrossVersionObjectReference")), 2: f("minReplicas", .int32), 3: f("maxReplicas", .int32),
                    4: f("metrics", .message("MetricSpec"), repeated: true), 5: f("behavior", .message("HPABehavior"))],
        "CrossVersionObjectReference": [1: f("kind", .string), 2: f("name", .string), 3: f("apiVersion", .string)],
        "MetricSpec": [1: f("type", .string), 2: f("object", .message("ObjectMetricSource")), 3: f("pods", .message("PodsMetricSource")),
                       4: f("resource", .message("ResourceMetricSource")), 5: f("external", .message("ExternalMetricSource")),
                       7: f("containerResource", .message("ContainerResourceMetricSource"))],
        "ResourceMetricSource": [1: f("name", .string), 2: f("target", .message("MetricTarget"))],
        "ContainerResourceMetricSource": [1: f("name", .string), 2: f("target", .message("MetricTarget")), 3: f("container", .string)],
        "PodsMetricSource": [1: f("metric", .message("MetricIdentifier")), 2: f("target", .message("MetricTarget"))],
        "ObjectMetricSource": [1: f("describedObject", .message("CrossVersionObjectReference")), 2: f("target", .message("MetricTarget")),
                               3: f("metric", .message("MetricIdentifier"))],
        "ExternalMetricSource": [1: f("metric", .message("MetricIdentifier")), 2: f("target", .message("MetricTarget"))],
        "MetricIdentifier": [1: f("name", .string), 2: f("selector", .message("LabelSelector"))],
        "MetricTarget": [1: f("type", .string), 2: f("value", .quantity), 3: f("averageValue", .quantity), 4: f("averageUtilization", .int32)],
        "HPABehavior": [1: f("scaleUp", .message("HPAScalingRules")), 2: f("scaleDown", .message("HPAScalingRules"))],
        "HPAScalingRules": [1: f("selectPolicy", .string), 2: f("policies", .message("HPAScalingPolicy"), repeated: true),
                            3: f("stabilizationWindowSeconds", .int32), 4: f("tolerance", .quantity)],
        "HPAScalingPolicy": [1: f("type", .string), 2: f("value", .int32), 3: f("periodSeconds", .int32)],
    ]

    static let core: [String: [Int: Field]] = [
        "ObjectMeta": [
            1: f("name", .string), 2: f("generateName", .string), 3: f("namespace", .string), 5: f("uid", .string),
            6: f("resourceVersion", .string), 7: f("generation", .int32OrUnset), 8: f("creationTimestamp", .ignoredTime),
            11: f("labels", .map(.string)), 12: f("annotations", .map(.string)),
            13: f("ownerReferences", .message("OwnerReference"), repeated: true), 14: f("finalizers", .string, repeated: true),
        ],
        "OwnerReference": [1: f("kind", .string), 3: f("name", .string), 4: f("uid", .string), 5: f("apiVersion", .string),
                           6: f("controller", .bool), 7: f("blockOwnerDeletion", .bool)],
        "LabelSelector": [1: f("matchLabels", .map(.string)), 2: f("matchExpressions", .message("LabelSelectorRequirement"), repeated: true)],
        "LabelSelectorRequirement": [1: f("key", .string), 2: f("operator", .string), 3: f("values", .string, repeated: true)],
        "Deployment": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("DeploymentSpec")), 3: f("status", .message("Ignored"))],
        "DeploymentSpec": [
            1: f("replicas", .int32), 2: f("selector", .message("LabelSelector")), 3: f("template", .message("PodTemplateSpec")),
            4: f("strategy", .message("DeploymentStrategy")), 5: f("minReadySeconds", .int32), 6: f("revisionHistoryLimit", .int32),
            7: f("paused", .bool), 9: f("progressDeadlineSeconds", .int32),
        ],
        "Job": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("JobSpec")), 3: f("status", .message("Ignored"))],
        "CronJob": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("CronJobSpec")), 3: f("status", .message("Ignored"))],
        "CronJobSpec": [
            1: f("schedule", .string), 2: f("startingDeadlineSeconds", .int64), 3: f("concurrencyPolicy", .string), 4: f("suspend", .bool),
            5: f("jobTemplate", .message("JobTemplateSpec")), 6: f("successfulJobsHistoryLimit", .int32), 7: f("failedJobsHistoryLimit", .int32),
            8: f("timeZone", .string),
        ],
        "JobTemplateSpec": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("JobSpec"))],
        "JobSpec": [
            1: f("parallelism", .int32), 2: f("completions", .int32), 3: f("activeDeadlineSeconds", .int64), 4: f("selector", .message("LabelSelector")),
            5: f("manualSelector", .bool), 6: f("template", .message("PodTemplateSpec")), 7: f("backoffLimit", .int32),
            8: f("ttlSecondsAfterFinished", .int32), 9: f("completionMode", .string), 10: f("suspend", .bool), 14: f("podReplacementPolicy", .string),
        ],
        "DeploymentStrategy": [1: f("type", .string), 2: f("rollingUpdate", .message("RollingUpdate"))],
        "RollingUpdate": [1: f("maxUnavailable", .intOrString), 2: f("maxSurge", .intOrString)],
        "PodDisruptionBudget": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("PodDisruptionBudgetSpec")),
                                3: f("status", .message("Ignored"))],
        "PodDisruptionBudgetSpec": [1: f("minAvailable", .intOrString), 2: f("selector", .message("LabelSelector")),
                                    3: f("maxUnavailable", .intOrString), 4: f("unhealthyPodEvictionPolicy", .string)],
        "PriorityClass": [1: f("metadata", .message("ObjectMeta")), 2: f("value", .int32), 3: f("globalDefault", .bool),
                          4: f("description", .string), 5: f("preemptionPolicy", .string)],
        "ReplicaSet": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("ReplicaSetSpec")), 3: f("status", .message("Ignored"))],
        "ReplicaSetSpec": [1: f("replicas", .int32), 2: f("selector", .message("LabelSelector")), 3: f("template", .message("PodTemplateSpec")),
                           4: f("minReadySeconds", .int32)],
        "DaemonSet": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("DaemonSetSpec")), 3: f("status", .message("Ignored"))],
        "DaemonSetSpec": [1: f("selector", .message("LabelSelector")), 2: f("template", .message("PodTemplateSpec")),
                          3: f("updateStrategy", .message("DeploymentStrategy")), 4: f("minReadySeconds", .int32), 6: f("revisionHistoryLimit", .int32)],
        "PodTemplateSpec": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("PodSpec"))],
        "Pod": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("PodSpec")), 3: f("status", .message("Ignored"))],
        "PodSpec": [
            2: f("containers", .message("Container"), repeated: true), 20: f("initContainers", .message("Container"), repeated: true),
            3: f("restartPolicy", .string), 4: f("terminationGracePeriodSeconds", .int64), 5: f("activeDeadlineSeconds", .int64),
            6: f("dnsPolicy", .string), 7: f("nodeSelector", .map(.string)), 8: f("serviceAccountName", .string), 9: f("serviceAccount", .string),
            10: f("nodeName", .string), 11: f("hostNetwork", .bool), 12: f("hostPID", .bool), 13: f("hostIPC", .bool),
            14: f("securityContext", .message("PodSecurityContext")), 15: f("imagePullSecrets", .message("LocalObjectReference"), repeated: true),
            16: f("hostname", .string), 17: f("subdomain", .string), 19: f("schedulerName", .string),
            22: f("tolerations", .message("Toleration"), repeated: true), 24: f("priorityClassName", .string), 25: f("priority", .int32),
            30: f("enableServiceLinks", .bool), 31: f("preemptionPolicy", .string),
        ],
        "PodSecurityContext": [2: f("runAsUser", .int64), 6: f("runAsGroup", .int64), 3: f("runAsNonRoot", .bool), 5: f("fsGroup", .int64)],
        "LocalObjectReference": [1: f("name", .string)],
        "Toleration": [1: f("key", .string), 2: f("operator", .string), 3: f("value", .string), 4: f("effect", .string), 5: f("tolerationSeconds", .int64)],
        "Container": [
            1: f("name", .string), 2: f("image", .string), 3: f("command", .string, repeated: true), 4: f("args", .string, repeated: true),
            5: f("workingDir", .string), 6: f("ports", .message("ContainerPort"), repeated: true), 7: f("env", .message("EnvVar"), repeated: true),
            8: f("resources", .message("ResourceRequirements")), 13: f("terminationMessagePath", .string), 14: f("imagePullPolicy", .string),
            15: f("securityContext", .message("SecurityContext")), 16: f("stdin", .bool), 17: f("stdinOnce", .bool), 18: f("tty", .bool),
            20: f("terminationMessagePolicy", .string),
        ],
        "SecurityContext": [2: f("privileged", .bool), 4: f("runAsUser", .int64), 8: f("runAsGroup", .int64), 5: f("runAsNonRoot", .bool),
                            6: f("readOnlyRootFilesystem", .bool), 7: f("allowPrivilegeEscalation", .bool)],
        "ContainerPort": [1: f("name", .string), 2: f("hostPort", .int32OrUnset), 3: f("containerPort", .int32), 4: f("protocol", .string), 5: f("hostIP", .string)],
        "EnvVar": [1: f("name", .string), 2: f("value", .string)],
        "ResourceRequirements": [1: f("limits", .map(.quantity)), 2: f("requests", .map(.quantity))],
        "Namespace": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("NamespaceSpec")), 3: f("status", .message("Ignored"))],
        "NamespaceSpec": [1: f("finalizers", .string, repeated: true)],
        "ConfigMap": [1: f("metadata", .message("ObjectMeta")), 2: f("data", .map(.string)), 3: f("binaryData", .map(.bytes)), 4: f("immutable", .bool)],
        "Secret": [1: f("metadata", .message("ObjectMeta")), 2: f("data", .map(.bytes)), 3: f("type", .string), 4: f("stringData", .map(.string)),
                   5: f("immutable", .bool)],
        "Service": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("ServiceSpec")), 3: f("status", .message("Ignored"))],
        "ServiceSpec": [
            1: f("ports", .message("ServicePort"), repeated: true), 2: f("selector", .map(.string)), 3: f("clusterIP", .string),
            18: f("clusterIPs", .string, repeated: true), 4: f("type", .string), 5: f("externalIPs", .string, repeated: true),
            7: f("sessionAffinity", .string), 10: f("externalName", .string), 11: f("externalTrafficPolicy", .string),
            19: f("ipFamilies", .string, repeated: true), 17: f("ipFamilyPolicy", .string), 22: f("internalTrafficPolicy", .string),
        ],
        "ServicePort": [1: f("name", .string), 2: f("protocol", .string), 6: f("appProtocol", .string), 3: f("port", .int32),
                        4: f("targetPort", .intOrString), 5: f("nodePort", .int32OrUnset)],
        // rbac.authorization.k8s.io/v1 (`kubectl create role|clusterrole|rolebinding|clusterrolebinding`).
        "Role": [1: f("metadata", .message("ObjectMeta")), 2: f("rules", .message("PolicyRule"), repeated: true)],
        "ClusterRole": [1: f("metadata", .message("ObjectMeta")), 2: f("rules", .message("PolicyRule"), repeated: true),
                        3: f("aggregationRule", .message("AggregationRule"))],
        "AggregationRule": [1: f("clusterRoleSelectors", .message("LabelSelector"), repeated: true)],
        "PolicyRule": [1: f("verbs", .string, repeated: true), 2: f("apiGroups", .string, repeated: true), 3: f("resources", .string, repeated: true),
                       4: f("resourceNames", .string, repeated: true), 5: f("nonResourceURLs", .string, repeated: true)],
        "RoleBinding": [1: f("metadata", .message("ObjectMeta")), 2: f("subjects", .message("Subject"), repeated: true), 3: f("roleRef", .message("RoleRef"))],
        "Subject": [1: f("kind", .string), 2: f("apiGroup", .string), 3: f("name", .string), 4: f("namespace", .string)],
        "RoleRef": [1: f("apiGroup", .string), 2: f("kind", .string), 3: f("name", .string)],
        // authorization.k8s.io/v1 and authentication.k8s.io/v1 (`kubectl auth can-i|whoami`).
        "AccessReview": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("AccessReviewSpec")), 3: f("status", .message("Ignored"))],
        "AccessReviewSpec": [1: f("resourceAttributes", .message("ResourceAttributes")), 2: f("nonResourceAttributes", .message("NonResourceAttributes")),
                             3: f("user", .string), 4: f("groups", .string, repeated: true), 6: f("uid", .string)],
        "ResourceAttributes": [1: f("namespace", .string), 2: f("verb", .string), 3: f("group", .string), 4: f("version", .string),
                               5: f("resource", .string), 6: f("subresource", .string), 7: f("name", .string)],
        "NonResourceAttributes": [1: f("path", .string), 2: f("verb", .string)],
        "RulesReview": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("RulesReviewSpec")), 3: f("status", .message("Ignored"))],
        "RulesReviewSpec": [1: f("namespace", .string)],
        "SelfSubjectReview": [1: f("metadata", .message("ObjectMeta")), 2: f("status", .message("Ignored"))],
        // `kubectl create serviceaccount|token`.
        "ServiceAccount": [1: f("metadata", .message("ObjectMeta")), 2: f("secrets", .message("ObjectReference"), repeated: true),
                           3: f("imagePullSecrets", .message("LocalObjectReference"), repeated: true), 4: f("automountServiceAccountToken", .bool)],
        "ObjectReference": [1: f("kind", .string), 2: f("namespace", .string), 3: f("name", .string), 4: f("uid", .string), 5: f("apiVersion", .string),
                            6: f("resourceVersion", .string), 7: f("fieldPath", .string)],
        "TokenRequest": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("TokenRequestSpec")), 3: f("status", .message("Ignored"))],
        "TokenRequestSpec": [1: f("audiences", .string, repeated: true), 3: f("boundObjectRef", .message("BoundObjectReference")), 4: f("expirationSeconds", .int64)],
        "BoundObjectReference": [1: f("kind", .string), 2: f("apiVersion", .string), 3: f("name", .string), 4: f("uid", .string)],
        // `kubectl create quota NAME --hard=… --scopes=…`.
        "ResourceQuota": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("ResourceQuotaSpec")), 3: f("status", .message("Ignored"))],
        "ResourceQuotaSpec": [1: f("hard", .map(.quantity)), 2: f("scopes", .string, repeated: true), 3: f("scopeSelector", .message("ScopeSelector"))],
        "ScopeSelector": [1: f("matchExpressions", .message("ScopedResourceSelectorRequirement"), repeated: true)],
        "ScopedResourceSelectorRequirement": [1: f("scopeName", .string), 2: f("operator", .string), 3: f("values", .string, repeated: true)],
        // `kubectl certificate approve|deny` (the approval subresource carries the conditions).
        "CertificateSigningRequest": [1: f("metadata", .message("ObjectMeta")), 2: f("spec", .message("CSRSpec")), 3: f("status", .message("CSRStatus"))],
        "CSRSpec": [1: f("request", .bytes), 2: f("username", .string), 3: f("uid", .string), 4: f("groups", .string, repeated: true),
                    5: f("usages", .string, repeated: true), 6: f("extra", .map(.message("ExtraValue"))), 7: f("signerName", .string), 8: f("expirationSeconds", .int32)],
        "ExtraValue": [1: f("items", .string, repeated: true)],
        "CSRStatus": [1: f("conditions", .message("CSRCondition"), repeated: true), 2: f("certificate", .bytes)],
        "CSRCondition": [1: f("type", .string), 2: f("reason", .string), 3: f("message", .string), 4: f("lastUpdateTime", .ignoredTime),
                         5: f("lastTransitionTime", .ignoredTime), 6: f("status", .string)],
        // Status sent on create is ignored, as the API ignores it for these kinds.
        "Ignored": [:],
    ]
}
