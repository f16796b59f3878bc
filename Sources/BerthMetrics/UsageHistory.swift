import Synchronization

/// One moment of a pod's, workload's or node's use: CPU in cores, memory working set in bytes,
/// network receive and transmit in bytes per second.
public struct UsagePoint: Sendable, Equatable {
    public var cpuCores: Double
    public var memoryBytes: Double
    public var receiveBytesPerSecond: Double
    public var transmitBytesPerSecond: Double

    public init(cpuCores: Double, memoryBytes: Double, receiveBytesPerSecond: Double = 0, transmitBytesPerSecond: Double = 0) {
        self.cpuCores = cpuCores
        self.memoryBytes = memoryBytes
        self.receiveBytesPerSecond = receiveBytesPerSecond
        self.transmitBytesPerSecond = transmitBytesPerSecond
    }

    public static func + (lhs: UsagePoint, rhs: UsagePoint) -> UsagePoint {
        UsagePoint(cpuCores: lhs.cpuCores + rhs.cpuCores, memoryBytes: lhs.memoryBytes + rhs.memoryBytes,
                   receiveBytesPerSecond: lhs.receiveBytesPerSecond + rhs.receiveBytesPerSecond,
                   transmitBytesPerSecond: lhs.transmitBytesPerSecond + rhs.transmitBytesPerSecond)
    }
}

/// What a series is about: `pod` (namespace/name), `workload` (namespace/Kind/name, e.g. a
/// Deployment: its pods summed) or `node` (name).
public struct SeriesKey: Sendable, Hashable, Comparable {
    public enum Scope: String, Sendable, Comparable {
        case pod, workload, node
        public static func < (lhs: Scope, rhs: Scope) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var scope: Scope
    public var namespace: String
    public var name: String

    public init(_ scope: Scope, namespace: String = "", name: String) {
        self.scope = scope
        self.namespace = namespace
        self.name = name
    }

    public static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
        (lhs.scope, lhs.namespace, lhs.name) < (rhs.scope, rhs.namespace, rhs.name)
    }
}

/// The last `window` of use per series at a fixed `resolution`, in rings of `Float`s (four
/// values and one step number per step: 24 bytes; an hour at 10 s is 8.6 KB a series), with at
/// most `maximumSeries` series: when full, the series written longest ago makes room. A
/// series not written for a whole window is dropped. The newest sample within a step wins.
public final class UsageHistory: Sendable {
    public let window: Duration
    public let resolution: Duration
    public let maximumSeries: Int
    let capacity: Int

    struct Ring {
        /// The step number held at each slot (`-1`: empty).
        var steps: [Int64]
        var values: [Float]
        var lastStep: Int64
    }

    private let rings = Mutex<[SeriesKey: Ring]>([:])

    public init(window: Duration = .seconds(3600), resolution: Duration = .seconds(10), maximumSeries: Int = 100_000) {
        self.window = window
        self.resolution = resolution
        self.maximumSeries = maximumSeries
        capacity = max(1, Int(window.components.seconds / max(1, resolution.components.seconds)))
    }

    var resolutionSeconds: Int64 { max(1, resolution.components.seconds) }

    /// Records a point at `time` (seconds since the epoch).
    public func record(_ key: SeriesKey, at time: Double, _ point: UsagePoint) {
        let step = Int64(time) / resolutionSeconds
        rings.withLock { rings in
            if rings[key] == nil, rings.count >= maximumSeries, let oldest = rings.min(by: { $0.value.lastStep < $1.value.lastStep })?.key {
                rings.removeValue(forKey: oldest)
            }
            var ring = rings[key] ?? Ring(steps: Array(repeating: -1, count: capacity), values: Array(repeating: 0, count: capacity * 4), lastStep: step)
            let slot = Int(step % Int64(capacity))
            ring.steps[slot] = step
            ring.values[slot * 4] = Float(point.cpuCores)
            ring.values[slot * 4 + 1] = Float(point.memoryBytes)
            ring.values[slot * 4 + 2] = Float(point.receiveBytesPerSecond)
            ring.values[slot * 4 + 3] = Float(point.transmitBytesPerSecond)
            ring.lastStep = max(ring.lastStep, step)
            rings[key] = ring
        }
    }

    /// The points of a series from `since` to `now`, oldest first, each at its step's start.
    public func points(_ key: SeriesKey, since: Double, now: Double) -> [(time: Double, point: UsagePoint)] {
        let nowStep = Int64(now) / resolutionSeconds
        let firstStep = max(Int64(since) / resolutionSeconds, nowStep - Int64(capacity) + 1)
        guard let ring = rings.withLock({ $0[key] }), firstStep <= nowStep else { return [] }
        var result: [(Double, UsagePoint)] = []
        for step in firstStep...nowStep {
            let slot = Int(step % Int64(capacity))
            guard ring.steps[slot] == step else { continue }
            let base = slot * 4
            result.append((Double(step * resolutionSeconds),
                           UsagePoint(cpuCores: Double(ring.values[base]), memoryBytes: Double(ring.values[base + 1]),
                                      receiveBytesPerSecond: Double(ring.values[base + 2]), transmitBytesPerSecond: Double(ring.values[base + 3]))))
        }
        return result
    }

    /// Series of a scope (and namespace, when given), sorted.
    public func keys(_ scope: SeriesKey.Scope, namespace: String? = nil) -> [SeriesKey] {
        rings.withLock { rings in rings.keys.filter { $0.scope == scope && (namespace == nil || $0.namespace == namespace) } }.sorted()
    }

    /// Drops series not written within the window before `now`.
    public func expire(now: Double) {
        let oldest = Int64(now) / resolutionSeconds - Int64(capacity)
        rings.withLock { rings in rings = rings.filter { $0.value.lastStep > oldest } }
    }

    public var seriesCount: Int { rings.withLock { $0.count } }

    /// Bytes the rings hold (values and step numbers), for the memory benchmark.
    public var ringBytes: Int { seriesCount * capacity * (4 * MemoryLayout<Float>.size + MemoryLayout<Int64>.size) }
}
