import Foundation

/// `berth.dev/v1` LoadBalancerPool (cluster-scoped): addresses for Services of type
/// LoadBalancer. The load-balancer controller gives each such Service one address from a pool
/// serving its namespace — the address it asked for (`spec.loadBalancerIP` or the
/// `berth.dev/load-balancer-ip` annotation), else the lowest free one of a pool with
/// `autoAssign` — and records it in the Service's `status.loadBalancer.ingress` and the pool's
/// `status.assignments`. Agents announce each address on the host network that holds it.
public struct LoadBalancerPool: Codable, Sendable, Hashable {
    public var apiVersion: String? = "berth.dev/v1"
    public var kind: String? = "LoadBalancerPool"
    public var metadata: ObjectMeta
    public var spec: LoadBalancerPoolSpec?
    public var status: LoadBalancerPoolStatus?

    /// Asks for one address (as `spec.loadBalancerIP`, which Kubernetes deprecated).
    public static let addressAnnotation = "berth.dev/load-balancer-ip"
    /// Names the pool to take the address from (else any pool serving the namespace).
    public static let poolAnnotation = "berth.dev/load-balancer-pool"
    /// Most addresses one pool may hold (a /16).
    public static let maximumSize = 65_536

    public init(metadata: ObjectMeta, spec: LoadBalancerPoolSpec? = nil, status: LoadBalancerPoolStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// `A`, `A-B` (inclusive) or `A/N` as a range of addresses; nil when it does not parse. A
    /// CIDR keeps its network and broadcast addresses out (a /31 or /32 keeps all).
    public static func parseRange(_ text: String) -> ClosedRange<UInt32>? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let slash = trimmed.firstIndex(of: "/") {
            guard let base = IPv4.parse(String(trimmed[..<slash])), let bits = Int(trimmed[trimmed.index(after: slash)...]),
                  (0...32).contains(bits) else { return nil }
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            guard base & mask == base else { return nil }
            let last = base | ~mask
            return bits >= 31 ? base...last : (base + 1)...(last - 1)
        }
        return IPPool.parseRange(trimmed)
    }
}

public struct LoadBalancerPoolSpec: Codable, Sendable, Hashable {
    /// Addresses (`100.72.200.100`), inclusive ranges (`100.72.200.100-100.72.200.110`) and
    /// CIDRs (`100.72.201.0/28`).
    public var addresses: [String]
    /// The namespaces whose Services may take addresses of this pool; all when absent.
    public var namespaceSelector: LabelSelectorSpec?
    /// Whether Services that ask for no address get one from this pool (default true).
    public var autoAssign: Bool?

    public init(addresses: [String], namespaceSelector: LabelSelectorSpec? = nil, autoAssign: Bool? = nil) {
        self.addresses = addresses
        self.namespaceSelector = namespaceSelector
        self.autoAssign = autoAssign
    }

    /// The pool's addresses as sorted ranges; nil when an entry does not parse.
    public var ranges: [ClosedRange<UInt32>]? {
        var result: [ClosedRange<UInt32>] = []
        for entry in addresses {
            guard let range = LoadBalancerPool.parseRange(entry) else { return nil }
            result.append(range)
        }
        return result.sorted { $0.lowerBound < $1.lowerBound }
    }

    public func contains(_ address: UInt32) -> Bool { (ranges ?? []).contains { $0.contains(address) } }

    /// Whether Services of a namespace with `labels` may use this pool.
    public func serves(namespaceLabels labels: [String: String]) -> Bool {
        guard let selector = namespaceSelector else { return true }
        return (try? LabelSelector(selector).matches(labels)) ?? false
    }
}

public struct LoadBalancerPoolStatus: Codable, Sendable, Hashable {
    /// Address → `namespace/name` of the Service holding it.
    public var assignments: [String: String]?
    public var capacity: Int?
    public var assigned: Int?

    public init(assignments: [String: String]? = nil, capacity: Int? = nil, assigned: Int? = nil) {
        self.assignments = assignments
        self.capacity = capacity
        self.assigned = assigned
    }
}

extension LoadBalancerPool: APIResource {
    public static func validate(_ object: LoadBalancerPool, old: LoadBalancerPool?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if let selector = spec.namespaceSelector { MetaValidation.validateSelector(selector, path: "spec.namespaceSelector", into: &errors) }
        AddressRanges.validate(spec.addresses, parse: parseRange, maximumSize: maximumSize, into: &errors,
                               format: "an IPv4 address (100.72.200.100), an inclusive range (100.72.200.100-100.72.200.110) or a CIDR (100.72.201.0/28)")
        return errors
    }

    /// How many addresses the entries name (entries that do not parse count nothing).
    public static func capacity(_ entries: [String]) -> Int {
        entries.compactMap(parseRange).reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) + 1 }
    }
}

extension ResourceDescriptor {
    public static let loadBalancerPool = ResourceDescriptor(
        LoadBalancerPool.self, group: "berth.dev", plural: "loadbalancerpools", namespaced: false, shortNames: ["lbp"], subresources: ["status"],
        tracksGeneration: true,
        columns: [
            TableColumn("Addresses", "The pool's addresses, ranges and CIDRs."),
            TableColumn("Auto-Assign", "boolean", "Whether Services that ask for no address get one from this pool."),
            TableColumn("Assigned", "Addresses held by Services, of the pool's addresses."), ageColumn,
            TableColumn("Namespace-Selector", priority: 1, "The namespaces whose Services may use the pool."),
        ]
    ) { object, now in
        let entries = object.value(at: ["spec", "addresses"])?.arrayValue?.compactMap(\.stringValue) ?? []
        let assigned = object.value(at: ["status", "assignments"])?.objectValue?.count ?? 0
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), TableCells.list(entries),
            .bool(object.value(at: ["spec", "autoAssign"]) != .bool(false)),
            .string("\(assigned)/\(LoadBalancerPool.capacity(entries))"), TableCells.age(object, now: now),
            .string(TableCells.selectorText(object.value(at: ["spec", "namespaceSelector"]))),
        ]
    }
}
