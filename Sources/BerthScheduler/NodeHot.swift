/// The numbers every decision reads for every node, kept apart from `NodeInfo` in a plain
/// struct without references: looking at 500 nodes per decision then costs no reference
/// counting and stays in cache. `SchedulingSnapshot` keeps one per node, in step with `nodes`.
struct NodeHot: Sendable {
    var allocatableCPU: Int64 = 0
    var allocatableMemory: Int64 = 0
    var allocatablePods: Int64 = 0
    var requestedCPU: Int64 = 0
    var requestedMemory: Int64 = 0
    var requestedPods: Int64 = 0
    /// Index into the snapshot's zone names, -1 without a zone label.
    var zone: Int32 = -1
    var unschedulable = false
    /// Any NoSchedule/NoExecute taint (the implicit not-ready one included).
    var blockingTaints = false
    var preferNoScheduleTaints: Int32 = 0

    init(_ info: NodeInfo, zone: Int32) {
        allocatableCPU = info.allocatable.milliCPU
        allocatableMemory = info.allocatable.memory
        allocatablePods = info.allocatable.pods
        requestedCPU = info.requested.milliCPU
        requestedMemory = info.requested.memory
        requestedPods = info.requested.pods
        self.zone = zone
        unschedulable = info.unschedulable
        blockingTaints = info.taints.contains { $0.effect == "NoSchedule" || $0.effect == "NoExecute" }
        preferNoScheduleTaints = Int32(info.taints.filter { $0.effect == "PreferNoSchedule" }.count)
    }
}

/// SplitMix64: a fast, seedable generator for tie-breaking (the system generator costs a
/// system call per draw).
public struct FastRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public init() {
        var system = SystemRandomNumberGenerator()
        state = system.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
