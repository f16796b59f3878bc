import BerthCore

/// Amounts of schedulable resources in the units the scheduler compares: CPU in millicores,
/// memory and ephemeral storage in bytes, everything else (pods, `berth.dev/gpu`) as counts.
/// CPU, memory and pods are fields rather than dictionary entries because every filter and
/// score reads them for every node.
public struct ResourceVector: Sendable, Hashable {
    public var milliCPU: Int64 = 0
    public var memory: Int64 = 0
    public var pods: Int64 = 0
    /// Extended and other named resources, e.g. `berth.dev/gpu`, `ephemeral-storage`.
    public var other: [String: Int64] = [:]

    public init(milliCPU: Int64 = 0, memory: Int64 = 0, pods: Int64 = 0, other: [String: Int64] = [:]) {
        self.milliCPU = milliCPU
        self.memory = memory
        self.pods = pods
        self.other = other
    }

    /// A node's `allocatable` (or `capacity`) list.
    public init(_ list: [String: Quantity]?) {
        for (name, quantity) in list ?? [:] { add(name, quantity) }
    }

    mutating func add(_ name: String, _ quantity: Quantity) {
        switch name {
        case "cpu": milliCPU += quantity.milliValue
        case "memory": memory += quantity.value
        case "pods": pods += quantity.value
        default: other[name, default: 0] += quantity.value
        }
    }

    public static func + (lhs: ResourceVector, rhs: ResourceVector) -> ResourceVector {
        var sum = lhs
        sum.milliCPU += rhs.milliCPU
        sum.memory += rhs.memory
        sum.pods += rhs.pods
        for (name, value) in rhs.other { sum.other[name, default: 0] += value }
        return sum
    }

    public static func - (lhs: ResourceVector, rhs: ResourceVector) -> ResourceVector {
        var difference = lhs
        difference.milliCPU -= rhs.milliCPU
        difference.memory -= rhs.memory
        difference.pods -= rhs.pods
        for (name, value) in rhs.other { difference.other[name, default: 0] -= value }
        return difference
    }

    /// What a pod asks of its node, as Kubernetes computes it: the sum over containers, at
    /// least the largest init container (they run one at a time before the others), plus the
    /// pod overhead. A container without requests but with limits requests its limits.
    public static func requests(of spec: PodSpec) -> ResourceVector {
        var containers = ResourceVector(pods: 1)
        for container in spec.containers { containers = containers + ResourceVector(containerRequests(container)) }
        var result = containers
        for container in spec.initContainers ?? [] {
            let single = ResourceVector(containerRequests(container))
            result.milliCPU = max(result.milliCPU, single.milliCPU)
            result.memory = max(result.memory, single.memory)
            for (name, value) in single.other { result.other[name] = max(result.other[name] ?? 0, value) }
        }
        if let overhead = spec.overhead { result = result + ResourceVector(overhead) }
        return result
    }

    static func containerRequests(_ container: Container) -> [String: Quantity] {
        var requests = container.resources?.limits ?? [:]
        for (name, quantity) in container.resources?.requests ?? [:] { requests[name] = quantity }
        return requests
    }
}
