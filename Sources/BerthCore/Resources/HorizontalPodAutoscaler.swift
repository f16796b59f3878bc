import Foundation

/// `autoscaling/v2` HorizontalPodAutoscaler: keeps a scalable workload's replicas where its
/// metrics meet their targets (the controller is `HorizontalPodAutoscalerController`, its
/// arithmetic `ReplicaProposal` and `ScalingBehaviorPlan` in BerthMetrics).
public struct HorizontalPodAutoscaler: Codable, Sendable, Hashable {
    public var apiVersion: String? = "autoscaling/v2"
    public var kind: String? = "HorizontalPodAutoscaler"
    public var metadata: ObjectMeta
    public var spec: HPASpec
    public var status: HPAStatus?

    public init(metadata: ObjectMeta, spec: HPASpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct CrossVersionObjectReference: Codable, Sendable, Hashable {
    public var apiVersion: String?
    public var kind: String
    public var name: String

    public init(apiVersion: String?, kind: String, name: String) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
    }
}

public struct HPASpec: Codable, Sendable, Hashable {
    public var scaleTargetRef: CrossVersionObjectReference
    public var minReplicas: Int32?
    public var maxReplicas: Int32
    public var metrics: [MetricSpec]?
    public var behavior: HPABehavior?
}

public struct MetricSpec: Codable, Sendable, Hashable {
    public var type: String
    public var resource: ResourceMetricSource?
    public var containerResource: ContainerResourceMetricSource?
    public var pods: MetricSourceOfPods?
    public var object: ObjectMetricSource?
    public var external: ExternalMetricSource?

    public static let types = ["ContainerResource", "External", "Object", "Pods", "Resource"]
}

public struct MetricTarget: Codable, Sendable, Hashable {
    public var type: String
    public var value: Quantity?
    public var averageValue: Quantity?
    public var averageUtilization: Int32?

    public static let types = ["AverageValue", "Utilization", "Value"]
}

public struct ResourceMetricSource: Codable, Sendable, Hashable {
    public var name: String
    public var target: MetricTarget
}

public struct ContainerResourceMetricSource: Codable, Sendable, Hashable {
    public var name: String
    public var container: String
    public var target: MetricTarget
}

public struct MetricIdentifier: Codable, Sendable, Hashable {
    public var name: String
    public var selector: LabelSelectorSpec?
}

public struct MetricSourceOfPods: Codable, Sendable, Hashable {
    public var metric: MetricIdentifier
    public var target: MetricTarget
}

public struct ObjectMetricSource: Codable, Sendable, Hashable {
    public var describedObject: CrossVersionObjectReference
    public var metric: MetricIdentifier
    public var target: MetricTarget
}

public struct ExternalMetricSource: Codable, Sendable, Hashable {
    public var metric: MetricIdentifier
    public var target: MetricTarget
}

public struct HPABehavior: Codable, Sendable, Hashable {
    public var scaleUp: HPAScalingRules?
    public var scaleDown: HPAScalingRules?

    public init(scaleUp: HPAScalingRules?, scaleDown: HPAScalingRules?) {
        self.scaleUp = scaleUp
        self.scaleDown = scaleDown
    }
}

public struct HPAScalingRules: Codable, Sendable, Hashable {
    public var stabilizationWindowSeconds: Int32?
    public var selectPolicy: String?
    public var policies: [HPAScalingPolicy]?
    /// Kubernetes 1.33's configurable tolerance (alpha there); nil: 10 %.
    public var tolerance: Quantity?

    public init(stabilizationWindowSeconds: Int32? = nil, selectPolicy: String? = nil, policies: [HPAScalingPolicy]? = nil) {
        self.stabilizationWindowSeconds = stabilizationWindowSeconds
        self.selectPolicy = selectPolicy
        self.policies = policies
    }

    public static let selectPolicies = ["Disabled", "Max", "Min"]
}

public struct HPAScalingPolicy: Codable, Sendable, Hashable {
    public var type: String
    public var value: Int32
    public var periodSeconds: Int32

    public init(type: String, value: Int32, periodSeconds: Int32) {
        self.type = type
        self.value = value
        self.periodSeconds = periodSeconds
    }

    public static let types = ["Percent", "Pods"]
}

public struct HPAStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var lastScaleTime: String?
    public var currentReplicas: Int32?
    public var desiredReplicas: Int32?
    public var currentMetrics: [MetricStatus]?
    public var conditions: [Condition]?

    public init(desiredReplicas: Int32) { self.desiredReplicas = desiredReplicas }
}

public struct MetricValueStatus: Codable, Sendable, Hashable {
    public var value: Quantity?
    public var averageValue: Quantity?
    public var averageUtilization: Int32?

    public init(value: Quantity? = nil, averageValue: Quantity? = nil, averageUtilization: Int32? = nil) {
        self.value = value
        self.averageValue = averageValue
        self.averageUtilization = averageUtilization
    }
}

public struct MetricStatus: Codable, Sendable, Hashable {
    public var type: String
    public var resource: ResourceMetricStatus?
    public var containerResource: ContainerResourceMetricStatus?
    public var pods: PodsMetricStatus?
    public var object: ObjectMetricStatus?
    public var external: ExternalMetricStatus?

    public init(type: String) { self.type = type }
}

public struct ResourceMetricStatus: Codable, Sendable, Hashable {
    public var name: String
    public var current: MetricValueStatus
    public init(name: String, current: MetricValueStatus) { self.name = name; self.current = current }
}

public struct ContainerResourceMetricStatus: Codable, Sendable, Hashable {
    public var name: String
    public var container: String
    public var current: MetricValueStatus
    public init(name: String, container: String, current: MetricValueStatus) { self.name = name; self.container = container; self.current = current }
}

public struct PodsMetricStatus: Codable, Sendable, Hashable {
    public var metric: MetricIdentifier
    public var current: MetricValueStatus
    public init(metric: MetricIdentifier, current: MetricValueStatus) { self.metric = metric; self.current = current }
}

public struct ObjectMetricStatus: Codable, Sendable, Hashable {
    public var describedObject: CrossVersionObjectReference
    public var metric: MetricIdentifier
    public var current: MetricValueStatus
    public init(describedObject: CrossVersionObjectReference, metric: MetricIdentifier, current: MetricValueStatus) { self.describedObject = describedObject; self.metric = metric; self.current = current }
}

public struct ExternalMetricStatus: Codable, Sendable, Hashable {
    public var metric: MetricIdentifier
    public var current: MetricValueStatus
    public init(metric: MetricIdentifier, current: MetricValueStatus) { self.metric = metric; self.current = current }
}
