import BerthCore
import BerthStore

/// The checks on IPPools and on the pods they serve that need other objects: a pool's addresses
/// lie in the cluster pod CIDR and are nobody else's (no other pool, no node's pod subnet, no
/// running pod); a new pod is marked with the pool that serves it; a pod's fixed address is only
/// ever the one its pool recorded, so a tenant cannot claim someone else's address.
extension APIServer {
    /// IPPools' addresses are checked against each other and against the nodes' pod subnets.
    /// A pool write checks both guards and moves the pool guard; a pod subnet assignment checks
    /// the pool guard and moves the node guard. So two overlapping claims written at once cannot
    /// both pass, yet a thousand nodes joining at once do not conflict with each other (subnets
    /// among nodes are the IPAM controller's to keep apart).
    static let poolGuard = "/registry/_guards/ippools"
    static let nodeSubnetGuard = "/registry/_guards/node-subnets"

    func crossObjectGuard(_ descriptor: ResourceDescriptor, _ object: JSONValue, old: JSONValue?, subresource: String?) async throws(BerthError) -> ObjectStorage.GuardKey? {
        switch descriptor.kind {
        case "IPPool" where subresource == nil:
            return try await storage.guardKey(checking: [Self.poolGuard, Self.nodeSubnetGuard], moving: [Self.poolGuard])
        case "Node" where Self.assignsPodSubnet(object, old: old, subresource: subresource):
            return try await storage.guardKey(checking: [Self.poolGuard], moving: [Self.nodeSubnetGuard])
        default: return nil
        }
    }

    static func assignsPodSubnet(_ object: JSONValue, old: JSONValue?, subresource: String?) -> Bool {
        guard subresource == nil, let cidr = object.value(at: ["spec", "podCIDR"])?.stringValue, !cidr.isEmpty else { return false }
        return old?.value(at: ["spec", "podCIDR"])?.stringValue != cidr
    }

    /// A node's new pod subnet may not hold an IPPool address (the pool's pods would be routed
    /// to that node).
    func checkNodeSubnet(_ object: JSONValue) async throws(BerthError) {
        let cidr = object.value(at: ["spec", "podCIDR"])?.stringValue ?? ""
        guard let subnet = IPv4CIDR(cidr) else { return }
        var causes: [StatusCause] = []
        for kv in try await storage.list(.ipPool, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let pool = try ObjectCodec.decode(kv).decode(IPPool.self)
            if pool.spec?.ranges?.contains(where: { subnet.overlaps($0) }) == true {
                causes.append(.invalid("spec.podCIDR", cidr, "holds addresses of IPPool \(pool.metadata.name ?? "")"))
            }
        }
        if !causes.isEmpty { throw BerthError.invalid(kind: "Node", name: object.value(at: ["metadata", "name"])?.stringValue ?? "", causes: causes) }
    }

    func checkPoolAddresses(_ object: JSONValue, old: JSONValue?) async throws(BerthError) {
        let pool = try object.decode(IPPool.self)
        let name = pool.metadata.name ?? ""
        guard let spec = pool.spec, let ranges = spec.ranges else { return }
        var causes: [StatusCause] = []
        let entries = spec.addresses.enumerated().compactMap { index, text in IPPool.parseRange(text).map { (index, text, $0) } }
        if let cluster = IPv4CIDR(configuration.clusterCIDR) {
            for (index, text, range) in entries where !(cluster.contains(range.lowerBound) && cluster.contains(range.upperBound)) {
                causes.append(.invalid("spec.addresses[\(index)]", text, "must lie inside the cluster pod CIDR \(configuration.clusterCIDR)"))
            }
        }
        for other in try await storage.list(.ipPool, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let existing = try ObjectCodec.decode(other).decode(IPPool.self)
            guard existing.metadata.name != name, let theirs = existing.spec?.ranges else { continue }
            for (index, text, range) in entries where theirs.contains(where: { $0.overlaps(range) }) {
                causes.append(.invalid("spec.addresses[\(index)]", text, "overlaps IPPool \(existing.metadata.name ?? "")"))
            }
        }
        for kv in try await storage.list(.node, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let node = try ObjectCodec.decode(kv)
            guard let cidr = node.value(at: ["spec", "podCIDR"])?.stringValue, let subnet = IPv4CIDR(cidr) else { continue }
            for (index, text, range) in entries where subnet.overlaps(range) {
                causes.append(.invalid("spec.addresses[\(index)]", text, "is taken: it overlaps the pod subnet \(cidr) of node \(node.value(at: ["metadata", "name"])?.stringValue ?? "")"))
            }
        }
        for kv in try await storage.list(.pod, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let pod = try ObjectCodec.decode(kv)
            guard let text = pod.value(at: ["status", "podIP"])?.stringValue, let address = IPv4.parse(text),
                  pod.value(at: ["metadata", "labels", IPPool.poolLabel])?.stringValue != name,
                  !["Succeeded", "Failed"].contains(pod.value(at: ["status", "phase"])?.stringValue ?? "") else { continue }
            for (index, entry, range) in entries where range.contains(address) {
                let holder = "\(pod.value(at: ["metadata", "namespace"])?.stringValue ?? "")/\(pod.value(at: ["metadata", "name"])?.stringValue ?? "")"
                causes.append(.invalid("spec.addresses[\(index)]", entry, "is taken: \(text) is the address of pod \(holder)"))
            }
        }
        if let old {
            let previous = try old.decode(IPPool.self)
            for (address, holder) in (previous.status?.allocations ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let value = IPv4.parse(address), !ranges.contains(where: { $0.contains(value) }) else { continue }
                causes.append(.invalid("spec.addresses", address, "is allocated to pod \(spec.namespace)/\(holder) and may not be removed while it is"))
            }
        }
        if !causes.isEmpty { throw BerthError.invalid(kind: "IPPool", name: name, group: "berth.dev", causes: causes) }
    }

    /// Labels a new pod with the pool that serves it (the first by name) and drops any fixed
    /// address it brought: the pool controller assigns one.
    func markPoolMembership(_ object: JSONValue) async throws(BerthError) -> JSONValue {
        var result = object
        result.set(nil, at: ["metadata", "annotations", IPPool.addressAnnotation])
        result.set(nil, at: ["metadata", "labels", IPPool.poolLabel])
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? ""
        let labels = (object.value(at: ["metadata", "labels"])?.objectValue ?? [:]).compactMapValues(\.stringValue)
        let pools = try await admissionList(.ipPool)
        for kv in pools {
            let pool = try ObjectCodec.decode(kv).decode(IPPool.self)
            guard let spec = pool.spec, spec.serves(namespace: namespace, labels: labels), let name = pool.metadata.name else { continue }
            result.set(.string(name), at: ["metadata", "labels", IPPool.poolLabel])
            break
        }
        if result.value(at: ["metadata", "labels"])?.objectValue?.isEmpty == true { result.set(nil, at: ["metadata", "labels"]) }
        if result.value(at: ["metadata", "annotations"])?.objectValue?.isEmpty == true { result.set(nil, at: ["metadata", "annotations"]) }
        return result
    }

    /// The pool label never changes after create; the fixed address may only become the one
    /// the pod's pool recorded for it.
    func guardFixedAddress(_ object: JSONValue, old: JSONValue) async throws(BerthError) -> JSONValue {
        var result = object
        let pool = old.value(at: ["metadata", "labels", IPPool.poolLabel])
        result.set(pool, at: ["metadata", "labels", IPPool.poolLabel])
        let requested = object.value(at: ["metadata", "annotations", IPPool.addressAnnotation])?.stringValue
        let current = old.value(at: ["metadata", "annotations", IPPool.addressAnnotation])?.stringValue
        guard requested != current, let requested else { return result }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let field = "metadata.annotations[\(IPPool.addressAnnotation)]"
        guard let poolName = pool?.stringValue else {
            throw BerthError.invalid(kind: "Pod", name: name, causes: [.forbidden(field, "only pods served by an IPPool have a fixed address")])
        }
        let stored: JSONValue
        do { stored = try await storage.get(.ipPool, namespace: nil, name: poolName) } catch where error.code == .notFound {
            throw BerthError.invalid(kind: "Pod", name: name, causes: [.forbidden(field, "IPPool \(poolName) does not exist")])
        }
        guard stored.value(at: ["status", "allocations", requested])?.stringValue == name else {
            throw BerthError.invalid(kind: "Pod", name: name, causes: [.invalid(field, requested, "is not allocated to this pod by IPPool \(poolName)")])
        }
        return result
    }
}

/// An IPv4 network for range checks (host bits ignored).
struct IPv4CIDR {
    let base: UInt32
    let mask: UInt32

    init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPv4.parse(String(parts[0])), let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
        mask = bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits)
        base = address & mask
    }

    func contains(_ address: UInt32) -> Bool { address & mask == base }
    func overlaps(_ range: ClosedRange<UInt32>) -> Bool { range.lowerBound <= (base | ~mask) && range.upperBound >= base }
}
