/// `apps/v1` ReplicaSet, Deployment and DaemonSet.
public struct ReplicaSet: Codable, Sendable, Hashable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "ReplicaSet"
    public var metadata: ObjectMeta
    public var spec: ReplicaSetSpec?
    public var status: ReplicaSetStatus?
}

public struct ReplicaSetSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var minReadySeconds: Int32?
    public var selector: LabelSelectorSpec
    public var template: PodTemplateSpec?

    public init(replicas: Int32?, minReadySeconds: Int32? = nil, selector: LabelSelectorSpec, template: PodTemplateSpec?) {
        self.replicas = replicas
        self.minReadySeconds = minReadySeconds
        self.selector = selector
        self.template = template
    }
}

public struct ReplicaSetStatus: Codable, Sendable, Hashable {
    public var replicas: Int32
    public var fullyLabeledReplicas: Int32?
    public var readyReplicas: Int32?
    public var availableReplicas: Int32?
    public var terminatingReplicas: Int32?
    public var observedGeneration: Int64?
    public var conditions: [WorkloadCondition]?

    public init(replicas: Int32, fullyLabeledReplicas: Int32? = nil, readyReplicas: Int32? = nil, availableReplicas: Int32? = nil,
                terminatingReplicas: Int32? = nil, observedGeneration: Int64? = nil, conditions: [WorkloadCondition]? = nil) {
        self.replicas = replicas
        self.fullyLabeledReplicas = fullyLabeledReplicas
        self.readyReplicas = readyReplicas
        self.availableReplicas = availableReplicas
        self.terminatingReplicas = terminatingReplicas
        self.observedGeneration = observedGeneration
        self.conditions = conditions
    }
}

/// The condition shape shared by ReplicaSet, Deployment and DaemonSet status.
public struct WorkloadCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastUpdateTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, lastUpdateTime: String? = nil, lastTransitionTime: String? = nil, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.lastUpdateTime = lastUpdateTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

public struct Deployment: Codable, Sendable, Hashable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "Deployment"
    public var metadata: ObjectMeta
    public var spec: DeploymentSpec?
    public var status: DeploymentStatus?
}

public struct DeploymentSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var selector: LabelSelectorSpec
    public var template: PodTemplateSpec
    public var strategy: DeploymentStrategy?
    public var minReadySeconds: Int32?
    public var revisionHistoryLimit: Int32?
    public var paused: Bool?
    public var progressDeadlineSeconds: Int32?
}

public struct DeploymentStrategy: Codable, Sendable, Hashable {
    public var type: String?
    public var rollingUpdate: RollingUpdateParameters?
}

/// `RollingUpdateDeployment` and `RollingUpdateDaemonSet` share these two fields.
public struct RollingUpdateParameters: Codable, Sendable, Hashable {
    public var maxUnavailable: IntOrString?
    public var maxSurge: IntOrString?

    public init(maxUnavailable: IntOrString? = nil, maxSurge: IntOrString? = nil) {
        self.maxUnavailable = maxUnavailable
        self.maxSurge = maxSurge
    }
}

public struct DeploymentStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var replicas: Int32?
    public var updatedReplicas: Int32?
    public var readyReplicas: Int32?
    public var availableReplicas: Int32?
    public var unavailableReplicas: Int32?
    public var terminatingReplicas: Int32?
    public var conditions: [WorkloadCondition]?
    public var collisionCount: Int32?

    public init() {}
}

public struct DaemonSet: Codable, Sendable, Hashable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "DaemonSet"
    public var metadata: ObjectMeta
    public var spec: DaemonSetSpec?
    public var status: DaemonSetStatus?
}

public struct DaemonSetSpec: Codable, Sendable, Hashable {
    public var selector: LabelSelectorSpec
    public var template: PodTemplateSpec
    public var updateStrategy: DaemonSetUpdateStrategy?
    public var minReadySeconds: Int32?
    public var revisionHistoryLimit: Int32?
}

public struct DaemonSetUpdateStrategy: Codable, Sendable, Hashable {
    public var type: String?
    public var rollingUpdate: RollingUpdateParameters?
}

public struct DaemonSetStatus: Codable, Sendable, Hashable {
    public var currentNumberScheduled: Int32
    public var numberMisscheduled: Int32
    public var desiredNumberScheduled: Int32
    public var numberReady: Int32
    public var observedGeneration: Int64?
    public var updatedNumberScheduled: Int32?
    public var numberAvailable: Int32?
    public var numberUnavailable: Int32?
    public var collisionCount: Int32?
    public var conditions: [WorkloadCondition]?

    public init(currentNumberScheduled: Int32, numberMisscheduled: Int32, desiredNumberScheduled: Int32, numberReady: Int32) {
        self.currentNumberScheduled = currentNumberScheduled
        self.numberMisscheduled = numberMisscheduled
        self.desiredNumberScheduled = desiredNumberScheduled
        self.numberReady = numberReady
    }
}

/// `autoscaling/v1` Scale, the body of the `scale` subresource.
public struct Scale: Codable, Sendable, Hashable {
    public var apiVersion: String? = "autoscaling/v1"
    public var kind: String? = "Scale"
    public var metadata: ObjectMeta
    public var spec: ScaleSpec?
    public var status: ScaleStatus?

    public init(metadata: ObjectMeta, spec: ScaleSpec?, status: ScaleStatus?) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct ScaleSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public init(replicas: Int32?) { self.replicas = replicas }
}

public struct ScaleStatus: Codable, Sendable, Hashable {
    public var replicas: Int32
    public var selector: String?
    public init(replicas: Int32, selector: String?) {
        self.replicas = replicas
        self.selector = selector
    }
}
