/// `core/v1` Event and `coordination.k8s.io/v1` Lease.
public struct Event: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Event"
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    public var source: EventSource?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var count: Int32?
    public var type: String?
    public var eventTime: String?
    public var series: JSONValue?
    public var action: String?
    public var related: ObjectReference?
    public var reportingComponent: String?
    public var reportingInstance: String?
}

public struct EventSource: Codable, Sendable, Hashable {
    public var component: String?
    public var host: String?
}

public struct Lease: Codable, Sendable, Hashable {
    public var apiVersion: String? = "coordination.k8s.io/v1"
    public var kind: String? = "Lease"
    public var metadata: ObjectMeta
    public var spec: LeaseSpec?
}

public struct LeaseSpec: Codable, Sendable, Hashable {
    public var holderIdentity: String?
    public var leaseDurationSeconds: Int32?
    public var acquireTime: String?
    public var renewTime: String?
    public var leaseTransitions: Int32?
    public var strategy: String?
    public var preferredHolder: String?
}
