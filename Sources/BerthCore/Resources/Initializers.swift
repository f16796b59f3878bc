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
