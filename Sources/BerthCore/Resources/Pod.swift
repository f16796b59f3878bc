/// `core/v1` Pod.
public struct Pod: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Pod"
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?

    public init(metadata: ObjectMeta, spec: PodSpec? = nil, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct PodTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?

    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct PodSpec: Codable, Sendable, Hashable {
    public var volumes: [Volume]?
    public var initContainers: [Container]?
    public var containers: [Container]
    public var ephemeralContainers: [JSONValue]?
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var activeDeadlineSeconds: Int64?
    public var dnsPolicy: String?
    public var nodeSelector: [String: String]?
    public var serviceAccountName: String?
    public var serviceAccount: String?
    public var automountServiceAccountToken: Bool?
    public var nodeName: String?
    public var hostNetwork: Bool?
    public var hostPID: Bool?
    public var hostIPC: Bool?
    public var shareProcessNamespace: Bool?
    @Indirect public var securityContext: PodSecurityContext?
    public var imagePullSecrets: [NameReference]?
    public var hostname: String?
    public var subdomain: String?
    public var affinity: Affinity?
    public var schedulerName: String?
    public var tolerations: [Toleration]?
    public var hostAliases: [HostAlias]?
    public var priorityClassName: String?
    public var priority: Int32?
    public var dnsConfig: PodDNSConfig?
    public var readinessGates: [PodReadinessGate]?
    public var runtimeClassName: String?
    public var enableServiceLinks: Bool?
    public var preemptionPolicy: String?
    public var overhead: [String: Quantity]?
    public var topologySpreadConstraints: [TopologySpreadConstraint]?
    public var setHostnameAsFQDN: Bool?
    public var os: PodOS?
    public var hostUsers: Bool?
    public var schedulingGates: [PodSchedulingGate]?
    public var resourceClaims: [JSONValue]?
    public var resources: ResourceRequirements?

    public init(containers: [Container], nodeName: String? = nil, restartPolicy: String? = nil) {
        self.containers = containers
        self.nodeName = nodeName
        self.restartPolicy = restartPolicy
    }
}

public struct PodSecurityContext: Codable, Sendable, Hashable {
    public var seLinuxOptions: SELinuxOptions?
    public var windowsOptions: JSONValue?
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var supplementalGroups: [Int64]?
    public var supplementalGroupsPolicy: String?
    public var fsGroup: Int64?
    public var sysctls: [Sysctl]?
    public var fsGroupChangePolicy: String?
    public var seccompProfile: SeccompProfile?
    public var appArmorProfile: AppArmorProfile?
    public var seLinuxChangePolicy: String?
}

public struct Sysctl: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
}

public struct HostAlias: Codable, Sendable, Hashable {
    public var ip: String
    public var hostnames: [String]?
}

public struct PodDNSConfig: Codable, Sendable, Hashable {
    public var nameservers: [String]?
    public var searches: [String]?
    public var options: [PodDNSConfigOption]?
}

public struct PodDNSConfigOption: Codable, Sendable, Hashable {
    public var name: String?
    public var value: String?
}

public struct PodReadinessGate: Codable, Sendable, Hashable {
    public var conditionType: String
}

public struct PodSchedulingGate: Codable, Sendable, Hashable {
    public var name: String
}

public struct PodOS: Codable, Sendable, Hashable {
    public var name: String
}

public struct Toleration: Codable, Sendable, Hashable {
    public var key: String?
    public var `operator`: String?
    public var value: String?
    public var effect: String?
    public var tolerationSeconds: Int64?
}

public struct TopologySpreadConstraint: Codable, Sendable, Hashable {
    public var maxSkew: Int32
    public var topologyKey: String
    public var whenUnsatisfiable: String
    public var labelSelector: LabelSelectorSpec?
    public var minDomains: Int32?
    public var nodeAffinityPolicy: String?
    public var nodeTaintsPolicy: String?
    public var matchLabelKeys: [String]?
}

public struct Affinity: Codable, Sendable, Hashable {
    public var nodeAffinity: NodeAffinity?
    public var podAffinity: PodAffinity?
    public var podAntiAffinity: PodAffinity?
}

public struct NodeAffinity: Codable, Sendable, Hashable {
    public var requiredDuringSchedulingIgnoredDuringExecution: NodeSelector?
    public var preferredDuringSchedulingIgnoredDuringExecution: [PreferredSchedulingTerm]?
}

public struct NodeSelector: Codable, Sendable, Hashable {
    public var nodeSelectorTerms: [NodeSelectorTerm]
    public init(nodeSelectorTerms: [NodeSelectorTerm]) { self.nodeSelectorTerms = nodeSelectorTerms }
}

public struct NodeSelectorTerm: Codable, Sendable, Hashable {
    public var matchExpressions: [NodeSelectorRequirement]?
    public var matchFields: [NodeSelectorRequirement]?
    public init(matchExpressions: [NodeSelectorRequirement]? = nil, matchFields: [NodeSelectorRequirement]? = nil) {
        self.matchExpressions = matchExpressions
        self.matchFields = matchFields
    }
}

public struct NodeSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    public var `operator`: String
    public var values: [String]?
    public init(key: String, operator: String, values: [String]?) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }
}

public struct PreferredSchedulingTerm: Codable, Sendable, Hashable {
    public var weight: Int32
    public var preference: NodeSelectorTerm
}

/// Used for both `podAffinity` and `podAntiAffinity`; they share one shape.
public struct PodAffinity: Codable, Sendable, Hashable {
    public var requiredDuringSchedulingIgnoredDuringExecution: [PodAffinityTerm]?
    public var preferredDuringSchedulingIgnoredDuringExecution: [WeightedPodAffinityTerm]?
}

public struct PodAffinityTerm: Codable, Sendable, Hashable {
    public var labelSelector: LabelSelectorSpec?
    public var namespaces: [String]?
    public var topologyKey: String
    public var namespaceSelector: LabelSelectorSpec?
    public var matchLabelKeys: [String]?
    public var mismatchLabelKeys: [String]?
}

public struct WeightedPodAffinityTerm: Codable, Sendable, Hashable {
    public var weight: Int32
    public var podAffinityTerm: PodAffinityTerm
}
