import BerthCore

/// The kubelet's hard eviction thresholds (`--eviction-hard`): `memory.available<100Mi`,
/// `nodefs.available<10%`, `nodefs.inodesFree<5%`, `pid.available<5%`, as a quantity or a
/// share of the capacity. Pure: the agent measures, this says what is crossed.
public struct EvictionThresholds: Sendable, Equatable {
    public enum Signal: String, Sendable, CaseIterable {
        case memoryAvailable = "memory.available"
        case nodefsAvailable = "nodefs.available"
        case nodefsInodesFree = "nodefs.inodesFree"
        case imagefsAvailable = "imagefs.available"
        case pidAvailable = "pid.available"

        /// The node condition the signal drives.
        public var condition: String {
            switch self {
            case .memoryAvailable: return "MemoryPressure"
            case .pidAvailable: return "PIDPressure"
            default: return "DiskPressure"
            }
        }

        /// What the eviction message calls the resource (`The node was low on resource: memory.`).
        public var resource: String {
            switch self {
            case .memoryAvailable: return "memory"
            case .pidAvailable: return "pids"
            case .nodefsInodesFree: return "inodes"
            default: return "ephemeral-storage"
            }
        }
    }

    public enum Amount: Sendable, Equatable {
        case quantity(Double)
        case percent(Double)

        func limit(capacity: Double) -> Double {
            switch self {
            case .quantity(let value): return value
            case .percent(let share): return capacity * share / 100
            }
        }

        public var text: String {
            switch self {
            case .quantity(let value): return Quantity(integer: Int64(value), format: .binarySI).description
            case .percent(let share): return "\(share)%"
            }
        }
    }

    public var thresholds: [Signal: Amount]

    /// The kubelet's Linux defaults, plus 5 % of the pid space.
    public static let defaults = EvictionThresholds(thresholds: [
        .memoryAvailable: .quantity(100 * 1_048_576), .nodefsAvailable: .percent(10), .imagefsAvailable: .percent(15),
        .nodefsInodesFree: .percent(5), .pidAvailable: .percent(5),
    ])

    public init(thresholds: [Signal: Amount]) { self.thresholds = thresholds }

    /// `memory.available<100Mi,nodefs.available<10%`; an empty string turns eviction off.
    public init(parsing text: String) throws(BerthError) {
        var thresholds: [Signal: Amount] = [:]
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let pieces = part.split(separator: "<", maxSplits: 1).map(String.init)
            guard pieces.count == 2, let signal = Signal(rawValue: pieces[0]) else {
                throw BerthError(.badRequest, "eviction threshold \(part): expected SIGNAL<AMOUNT with SIGNAL one of \(Signal.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if pieces[1].hasSuffix("%") {
                guard let share = Double(pieces[1].dropLast()), share > 0, share < 100 else {
                    throw BerthError(.badRequest, "eviction threshold \(part): a percentage must be between 0 and 100")
                }
                thresholds[signal] = .percent(share)
            } else {
                guard let quantity = try? Quantity(parsing: pieces[1]), quantity.nanos > 0 else {
                    throw BerthError(.badRequest, "eviction threshold \(part): \(pieces[1]) is not a quantity such as 100Mi")
                }
                thresholds[signal] = .quantity(Double(quantity.nanos) / 1e9)
            }
        }
        self.thresholds = thresholds
    }

    /// One measured signal: what is available now and the capacity it is a share of.
    public struct Observation: Sendable, Equatable {
        public var available: Double
        public var capacity: Double
        public init(available: Double, capacity: Double) { self.available = available; self.capacity = capacity }
    }

    /// A crossed threshold and its wording for the Event and the pod's status.
    public struct Crossing: Sendable, Equatable {
        public var signal: Signal
        public var threshold: Double
        public var available: Double

        public var message: String {
            "The node was low on resource: \(signal.resource). Threshold quantity: \(Self.amount(threshold, signal)), available: \(Self.amount(available, signal))."
        }

        static func amount(_ value: Double, _ signal: Signal) -> String {
            switch signal {
            case .memoryAvailable, .nodefsAvailable, .imagefsAvailable: return "\(Int64(max(0, value)) / 1024)Ki"
            default: return String(Int64(max(0, value)))
            }
        }
    }

    public func crossed(_ observations: [Signal: Observation]) -> [Crossing] {
        var result: [Crossing] = []
        for signal in Signal.allCases {
            guard let amount = thresholds[signal], let observation = observations[signal] else { continue }
            let limit = amount.limit(capacity: observation.capacity)
            if observation.available < limit { result.append(Crossing(signal: signal, threshold: limit, available: observation.available)) }
        }
        return result
    }
}

/// Which pod the kubelet evicts first under pressure: pods using more than they requested
/// (BestEffort pods requested nothing) before those within their requests, lower priority
/// first, then the largest use above the request — Kubernetes' ranking (`rankMemoryPressure`).
public enum EvictionRanking {
    public struct Candidate: Sendable, Equatable {
        public var key: String
        public var priority: Int
        /// Bytes (memory) or count (pids) the pod uses, and what it requested.
        public var usage: Double
        public var request: Double

        public init(key: String, priority: Int, usage: Double, request: Double) {
            self.key = key
            self.priority = priority
            self.usage = usage
            self.request = request
        }
    }

    public static func order(_ candidates: [Candidate]) -> [Candidate] {
        candidates.sorted { lhs, rhs in
            let lhsOver = lhs.usage > lhs.request, rhsOver = rhs.usage > rhs.request
            if lhsOver != rhsOver { return lhsOver }
            if lhs.priority != rhs.priority { return lhs.priority < rhs.priority }
            return (lhs.usage - lhs.request) > (rhs.usage - rhs.request)
        }
    }
}
