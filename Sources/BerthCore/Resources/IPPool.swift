import Foundation

/// `berth.dev/v1` IPPool (cluster-scoped): fixed addresses for one app. Pods of `spec.namespace`
/// matching `spec.podSelector`, created while the pool exists, take free addresses of the pool
/// and keep them across container restarts, re-creation and moves to another node; the pool's
/// `status.allocations` is the record of who holds which address.
public struct IPPool: Codable, Sendable, Hashable {
    public var apiVersion: String? = "berth.dev/v1"
    public var kind: String? = "IPPool"
    public var metadata: ObjectMeta
    public var spec: IPPoolSpec?
    public var status: IPPoolStatus?

    /// Set by the API server on pods the pool serves (a label, so agents can select them).
    public static let poolLabel = "berth.dev/ippool"
    /// The address the pool gave the pod; set by the IP pool controller after it recorded the
    /// allocation in the pool's status. Until then the pod is not scheduled.
    public static let addressAnnotation = "berth.dev/ip"
    /// Most addresses one pool may hold (a /16).
    public static let maximumSize = 65_536

    public init(metadata: ObjectMeta, spec: IPPoolSpec? = nil, status: IPPoolStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct IPPoolSpec: Codable, Sendable, Hashable {
    /// Addresses (`100.96.200.10`) and inclusive ranges (`100.96.200.10-100.96.200.20`).
    public var addresses: [String]
    public var namespace: String
    public var podSelector: LabelSelectorSpec?

    public init(addresses: [String], namespace: String, podSelector: LabelSelectorSpec? = nil) {
        self.addresses = addresses
        self.namespace = namespace
        self.podSelector = podSelector
    }

    /// The pool's addresses as sorted ranges; nil when an entry does not parse.
    public var ranges: [ClosedRange<UInt32>]? {
        var result: [ClosedRange<UInt32>] = []
        for entry in addresses {
            guard let range = IPPool.parseRange(entry) else { return nil }
            result.append(range)
        }
        return result.sorted { $0.lowerBound < $1.lowerBound }
    }

    /// Every address of the pool, lowest first.
    public var allAddresses: [UInt32] {
        (ranges ?? []).flatMap { Array($0) }
    }

    /// Whether a pod of `namespace` with `labels` is served by this pool.
    public func serves(namespace: String, labels: [String: String]) -> Bool {
        guard namespace == self.namespace else { return false }
        guard let selector = podSelector else { return true }
        return (try? LabelSelector(selector).matches(labels)) ?? false
    }
}

public struct IPPoolStatus: Codable, Sendable, Hashable {
    /// Address → name of the pod (in `spec.namespace`) holding it.
    public var allocations: [String: String]?
    public var capacity: Int?
    public var allocated: Int?

    public init(allocations: [String: String]? = nil, capacity: Int? = nil, allocated: Int? = nil) {
        self.allocations = allocations
        self.capacity = capacity
        self.allocated = allocated
    }
}

extension IPPool: APIResource {
    public static func validate(_ object: IPPool, old: IPPool?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if spec.namespace.isEmpty {
            errors.required("spec.namespace")
        } else {
            errors.check("spec.namespace", spec.namespace, NameRule.label.problem(spec.namespace))
        }
        if let selector = spec.podSelector { MetaValidation.validateSelector(selector, path: "spec.podSelector", into: &errors) }
        AddressRanges.validate(spec.addresses, parse: parseRange, maximumSize: maximumSize, into: &errors,
                               format: "an IPv4 address (100.96.200.10) or an inclusive range (100.96.200.10-100.96.200.20)")
        if let old, let oldSpec = old.spec, oldSpec.namespace != spec.namespace, !(old.status?.allocations ?? [:]).isEmpty {
            errors.forbidden("spec.namespace", "may not change while addresses are allocated")
        }
        return errors
    }

    /// `A` or `A-B` (A ≤ B) as an inclusive range.
    public static func parseRange(_ text: String) -> ClosedRange<UInt32>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        switch parts.count {
        case 1:
            guard let address = IPv4.parse(parts[0]) else { return nil }
            return address...address
        case 2:
            guard let low = IPv4.parse(parts[0]), let high = IPv4.parse(parts[1]), low <= high else { return nil }
            return low...high
        default:
            return nil
        }
    }
}

extension IPPool {
    /// How many addresses the entries name (entries that do not parse count nothing).
    public static func capacity(_ entries: [String]) -> Int {
        entries.compactMap(parseRange).reduce(0) { $0 + Int($1.upperBound - $1.lowerBound) + 1 }
    }
}
