/// `core/v1` Node.
public struct Node: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Node"
    public var metadata: ObjectMeta
    public var spec: NodeSpec?
    public var status: NodeStatus?
}

public struct NodeSpec: Codable, Sendable, Hashable {
    public var podCIDR: String?
    public var podCIDRs: [String]?
    public var providerID: String?
    public var unschedulable: Bool?
    public var taints: [Taint]?
    public var configSource: JSONValue?
    public var externalID: String?
}

public struct Taint: Codable, Sendable, Hashable {
    public var key: String
    public var value: String?
    public var effect: String
    public var timeAdded: String?

    public init(key: String, value: String? = nil, effect: String, timeAdded: String? = nil) {
        self.key = key
        self.value = value
        self.effect = effect
        self.timeAdded = timeAdded
    }
}

public struct NodeStatus: Codable, Sendable, Hashable {
    public var capacity: [String: Quantity]?
    public var allocatable: [String: Quantity]?
    public var phase: String?
    public var conditions: [NodeCondition]?
    public var addresses: [NodeAddress]?
    public var daemonEndpoints: JSONValue?
    public var nodeInfo: NodeSystemInfo?
    public var images: [JSONValue]?
    public var volumesInUse: [String]?
    public var volumesAttached: [JSONValue]?
    public var config: JSONValue?
    public var runtimeHandlers: [JSONValue]?
    public var features: JSONValue?
}

public struct NodeCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastHeartbeatTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?
}

public struct NodeAddress: Codable, Sendable, Hashable {
    public var type: String
    public var address: String
}

public struct NodeSystemInfo: Codable, Sendable, Hashable {
    public var machineID: String
    public var systemUUID: String
    public var bootID: String
    public var kernelVersion: String
    public var osImage: String
    public var containerRuntimeVersion: String
    public var kubeletVersion: String
    public var kubeProxyVersion: String?
    public var operatingSystem: String
    public var architecture: String
    public var swap: JSONValue?
}
