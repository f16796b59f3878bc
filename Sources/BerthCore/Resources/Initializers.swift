/// Public initialisers for the kinds controllers build (Swift's memberwise ones are internal).
extension ReplicaSet {
    public init(metadata: ObjectMeta, spec: ReplicaSetSpec?, status: ReplicaSetStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

extension Lease {
    public init(metadata: ObjectMeta, spec: LeaseSpec?) {
        self.metadata = metadata
        self.spec = spec
    }
}

extension Endpoints {
    public init(metadata: ObjectMeta, subsets: [EndpointSubset]?) {
        self.metadata = metadata
        self.subsets = subsets
    }
}

extension EndpointSubset {
    public init(ready addresses: [EndpointAddress]?, notReady notReadyAddresses: [EndpointAddress]?, ports: [EndpointPort]?) {
        self.addresses = addresses
        self.notReadyAddresses = notReadyAddresses
        self.ports = ports
    }
}

extension EndpointAddress {
    public init(ip: String, nodeName: String?, targetRef: ObjectReference?) {
        self.ip = ip
        self.nodeName = nodeName
        self.targetRef = targetRef
    }
}

extension EndpointPort {
    public init(name: String?, port: Int32, protocol: String?) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
    }
}
