import BerthCore

/// What the scheduler knows about one node: its object, what it can give, what its pods already
/// take, and the pods themselves in the compact form the affinity and spreading checks need.
public struct NodeInfo: Sendable {
    public let node: Node
    public let name: String
    public let labels: [String: String]
    public let allocatable: ResourceVector
    public let taints: [Taint]
    public let unschedulable: Bool
    /// Image names the node reports as present (`status.images[].names`), for image locality.
    public let images: Set<String>
    public internal(set) var requested = ResourceVector()
    public internal(set) var hostPorts: Set<HostPort> = []
    public internal(set) var pods: [PodSummary] = []

    public init(node: Node) {
        self.node = node
        name = node.metadata.name ?? ""
        var labels = node.metadata.labels ?? [:]
        if labels[TopologyKeys.hostname] == nil { labels[TopologyKeys.hostname] = name }
        self.labels = labels
        allocatable = ResourceVector(node.status?.allocatable ?? node.status?.capacity)
        unschedulable = node.spec?.unschedulable ?? false
        var taints = node.spec?.taints ?? []
        // A node that does not say it is Ready gets the taint the node lifecycle controller
        // would give it, so a freshly lost node is avoided even before the taint is written.
        let ready = node.status?.conditions?.first { $0.type == "Ready" }?.status
        if ready != "True", !taints.contains(where: { $0.key == TaintKeys.notReady || $0.key == TaintKeys.unreachable }) {
            taints.append(Taint(key: ready == "False" ? TaintKeys.notReady : TaintKeys.unreachable, value: nil, effect: "NoSchedule", timeAdded: nil))
        }
        self.taints = taints
        var images: Set<String> = []
        for image in node.status?.images ?? [] {
            for name in image["names"]?.arrayValue ?? [] { if let name = name.stringValue { images.insert(name) } }
        }
        self.images = images
    }

    mutating func add(_ pod: PodSummary) {
        requested = requested + pod.requests
        hostPorts.formUnion(pod.hostPorts)
        pods.append(pod)
    }

    @discardableResult
    mutating func remove(uid: String) -> PodSummary? {
        guard let index = pods.firstIndex(where: { $0.uid == uid }) else { return nil }
        let pod = pods.remove(at: index)
        requested = requested - pod.requests
        hostPorts = Set(pods.flatMap(\.hostPorts))
        return pod
    }
}

/// A pod as the scheduler remembers it once placed.
public struct PodSummary: Sendable, Hashable {
    public let uid: String
    public let namespace: String
    public let name: String
    public let labels: [String: String]
    public let requests: ResourceVector
    public let hostPorts: Set<HostPort>
    /// UID of the controlling owner (ReplicaSet, DaemonSet …), for spreading replicas.
    public let ownerUID: String?
    /// The pod's own required anti-affinity terms: a new pod must respect them too (symmetry).
    public let requiredAntiAffinity: [PodAffinityTerm]
    /// `spec.priority` (set at admission): preemption evicts only pods below the preemptor's.
    public let priority: Int32

    public init(_ pod: Pod) {
        uid = pod.metadata.uid ?? ""
        namespace = pod.metadata.namespace ?? "default"
        name = pod.metadata.name ?? ""
        labels = pod.metadata.labels ?? [:]
        requests = pod.spec.map(ResourceVector.requests(of:)) ?? ResourceVector(pods: 1)
        hostPorts = pod.spec.map(HostPort.requested(by:)) ?? []
        ownerUID = pod.metadata.ownerReferences?.first { $0.controller == true }?.uid
        requiredAntiAffinity = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []
        priority = pod.spec?.priority ?? 0
    }
}

/// A host port a pod binds; two pods conflict when protocol and port match and their host IPs
/// overlap (equal, or either is the wildcard).
public struct HostPort: Sendable, Hashable {
    public var port: Int32
    public var proto: String
    public var hostIP: String

    public func conflicts(with other: HostPort) -> Bool {
        port == other.port && proto == other.proto
            && (hostIP == other.hostIP || hostIP == "0.0.0.0" || other.hostIP == "0.0.0.0")
    }

    static func requested(by spec: PodSpec) -> Set<HostPort> {
        var ports: Set<HostPort> = []
        for container in spec.containers + (spec.initContainers ?? []) {
            for port in container.ports ?? [] {
                guard let hostPort = port.hostPort, hostPort > 0 else { continue }
                let ip = port.hostIP.flatMap { $0.isEmpty ? nil : $0 } ?? "0.0.0.0"
                ports.insert(HostPort(port: hostPort, proto: port.protocol ?? "TCP", hostIP: ip))
            }
        }
        return ports
    }
}

public enum TopologyKeys {
    public static let hostname = "kubernetes.io/hostname"
    public static let zone = "topology.kubernetes.io/zone"
}

public enum TaintKeys {
    public static let notReady = "node.kubernetes.io/not-ready"
    public static let unreachable = "node.kubernetes.io/unreachable"
    public static let unschedulable = "node.kubernetes.io/unschedulable"
}
