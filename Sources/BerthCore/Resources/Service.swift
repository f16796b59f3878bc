/// `core/v1` Service and Endpoints.
public struct Service: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Service"
    public var metadata: ObjectMeta
    public var spec: ServiceSpec?
    public var status: ServiceStatus?
}

public struct ServiceSpec: Codable, Sendable, Hashable {
    public var ports: [ServicePort]?
    public var selector: [String: String]?
    public var clusterIP: String?
    public var clusterIPs: [String]?
    public var type: String?
    public var externalIPs: [String]?
    public var sessionAffinity: String?
    public var loadBalancerIP: String?
    public var loadBalancerSourceRanges: [String]?
    public var externalName: String?
    public var externalTrafficPolicy: String?
    public var healthCheckNodePort: Int32?
    public var publishNotReadyAddresses: Bool?
    public var sessionAffinityConfig: SessionAffinityConfig?
    public var ipFamilies: [String]?
    public var ipFamilyPolicy: String?
    public var allocateLoadBalancerNodePorts: Bool?
    public var loadBalancerClass: String?
    public var internalTrafficPolicy: String?
    public var trafficDistribution: String?
}

public struct ServicePort: Codable, Sendable, Hashable {
    public var name: String?
    public var `protocol`: String?
    public var appProtocol: String?
    public var port: Int32
    public var targetPort: IntOrString?
    public var nodePort: Int32?
}

public struct SessionAffinityConfig: Codable, Sendable, Hashable {
    public var clientIP: ClientIPConfig?
}

public struct ClientIPConfig: Codable, Sendable, Hashable {
    public var timeoutSeconds: Int32?
}

public struct ServiceStatus: Codable, Sendable, Hashable {
    public var loadBalancer: JSONValue?
    public var conditions: [Condition]?
}

public struct Endpoints: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Endpoints"
    public var metadata: ObjectMeta
    public var subsets: [EndpointSubset]?
}

public struct EndpointSubset: Codable, Sendable, Hashable {
    public var addresses: [EndpointAddress]?
    public var notReadyAddresses: [EndpointAddress]?
    public var ports: [EndpointPort]?
}

public struct EndpointAddress: Codable, Sendable, Hashable {
    public var ip: String
    public var hostname: String?
    public var nodeName: String?
    public var targetRef: ObjectReference?
}

public struct EndpointPort: Codable, Sendable, Hashable {
    public var name: String?
    public var port: Int32
    public var `protocol`: String?
    public var appProtocol: String?
}

public struct ObjectReference: Codable, Sendable, Hashable {
    public var kind: String?
    public var namespace: String?
    public var name: String?
    public var uid: String?
    public var apiVersion: String?
    public var resourceVersion: String?
    public var fieldPath: String?

    public init(kind: String? = nil, namespace: String? = nil, name: String? = nil, uid: String? = nil, apiVersion: String? = nil) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.apiVersion = apiVersion
    }
}
