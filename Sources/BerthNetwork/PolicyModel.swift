import BerthCore

/// A pod as policies see it: where it lives, its labels, address and named ports.
public struct PolicyPod: Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var ip: UInt32
    public var labels: [String: String]
    public var ports: [NamedPort]

    public struct NamedPort: Sendable, Hashable {
        public var name: String
        public var port: Int
        public var proto: String
        public init(name: String, port: Int, proto: String) {
            self.name = name
            self.port = port
            self.proto = proto
        }
    }

    public init(namespace: String, name: String, ip: UInt32, labels: [String: String], ports: [NamedPort]) {
        self.namespace = namespace
        self.name = name
        self.ip = ip
        self.labels = labels
        self.ports = ports
    }

    /// From a pod as stored (JSON), without decoding the whole Pod: the policy agent reads
    /// every pod in the cluster on each change, so this is on its hot path. Nil without an
    /// address (nothing to match on) and for host-network pods (they share the node's
    /// address: no policy can single them out).
    public init?(object: JSONValue) {
        guard let address = object["status"]?["podIP"]?.stringValue, let ip = IPv4.parse(address),
              object["spec"]?["hostNetwork"] != .bool(true) else { return nil }
        let metadata = object["metadata"]
        namespace = metadata?["namespace"]?.stringValue ?? "default"
        name = metadata?["name"]?.stringValue ?? ""
        self.ip = ip
        labels = (metadata?["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        ports = (object["spec"]?["containers"]?.arrayValue ?? []).flatMap { container in
            (container["ports"]?.arrayValue ?? []).compactMap { port -> NamedPort? in
                guard let name = port["name"]?.stringValue, let number = port["containerPort"]?.intValue else { return nil }
                return NamedPort(name: name, port: number, proto: port["protocol"]?.stringValue ?? "TCP")
            }
        }
    }

    /// From a Pod object; nil without an address (nothing to match on).
    public init?(_ pod: Pod) {
        guard let ip = pod.status?.podIP.flatMap(IPv4.parse) else { return nil }
        namespace = pod.metadata.namespace ?? "default"
        name = pod.metadata.name ?? ""
        self.ip = ip
        labels = pod.metadata.labels ?? [:]
        ports = (pod.spec?.containers ?? []).flatMap { container in
            (container.ports ?? []).compactMap { port in
                port.name.map { NamedPort(name: $0, port: Int(port.containerPort), proto: port.protocol ?? "TCP") }
            }
        }
    }
}

/// A namespace's labels (for namespaceSelector) and its tenant (`berth.dev/tenant`).
public struct PolicyNamespace: Sendable, Hashable {
    public var name: String
    public var labels: [String: String]
    public var tenant: String?

    public static let tenantAnnotation = "berth.dev/tenant"

    public init(name: String, labels: [String: String], tenant: String?) {
        self.name = name
        self.labels = labels
        self.tenant = tenant
    }
}

/// A closed range of numbers on one axis of a policy box (addresses, protocols, ports).
public struct Span: Hashable, Sendable, Comparable {
    public var low: UInt32
    public var high: UInt32

    public init(_ low: UInt32, _ high: UInt32) {
        self.low = low
        self.high = high
    }

    public static func < (a: Span, b: Span) -> Bool { (a.low, a.high) < (b.low, b.high) }
    public func contains(_ value: UInt32) -> Bool { low <= value && value <= high }

    public static let allAddresses = Span(0, UInt32.max)
    public static let allProtocols = Span(0, 255)
    public static let allPorts = Span(0, 65535)

    /// Merges overlapping and adjacent spans into a sorted disjoint list.
    public static func union(_ spans: [Span]) -> [Span] {
        var merged: [Span] = []
        for span in spans.sorted() {
            if let last = merged.last, UInt64(span.low) <= UInt64(last.high) + 1 {
                merged[merged.count - 1].high = max(last.high, span.high)
            } else {
                merged.append(span)
            }
        }
        return merged
    }

    /// `span` without the `holes` (ipBlock `except`).
    public static func subtract(_ span: Span, _ holes: [Span]) -> [Span] {
        var pieces = [span]
        for hole in holes {
            pieces = pieces.flatMap { piece -> [Span] in
                guard hole.high >= piece.low, hole.low <= piece.high else { return [piece] }
                var rest: [Span] = []
                if hole.low > piece.low { rest.append(Span(piece.low, hole.low - 1)) }
                if hole.high < piece.high { rest.append(Span(hole.high + 1, piece.high)) }
                return rest
            }
        }
        return pieces
    }
}

/// One allowance of one rule for one local pod: traffic with the peer in `peer`, the protocol in
/// `proto` and the destination port in `port` — and which policy rule it comes from, for trace.
public struct PolicyBox: Hashable, Sendable {
    public var pod: UInt32
    public var peer: Span
    public var proto: Span
    public var port: Span
    public var source: String

    public init(pod: UInt32, peer: Span, proto: Span, port: Span, source: String) {
        self.pod = pod
        self.peer = peer
        self.proto = proto
        self.port = port
        self.source = source
    }
}
