import Synchronization

/// The metrics one process keeps: counters, gauges and histograms with fixed label names, and
/// collectors that write families computed when scraped (object state, queue depths). Like
/// client-go's global registry, parts of a process (work queues, the scheduler) register into
/// `MetricsRegistry.process` without being handed one.
public final class MetricsRegistry: Sendable {
    public static let process = MetricsRegistry()

    public typealias Collector = @Sendable (inout ExpositionWriter) -> Void

    private struct Entry: Sendable {
        let name: String
        let render: Collector
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    /// A counter (monotonic; its name should end in `_total`). Asking twice for one name gives
    /// the same counter.
    public func counter(_ name: String, help: String, labels: [String] = []) -> Counter {
        register(name) { Counter(name: name, help: help, labelNames: labels) } render: { $0.render(into: &$1) }
    }

    public func gauge(_ name: String, help: String, labels: [String] = []) -> Gauge {
        register(name) { Gauge(name: name, help: help, labelNames: labels) } render: { $0.render(into: &$1) }
    }

    public func histogram(_ name: String, help: String, labels: [String] = [], buckets: [Double] = Histogram.latencyBuckets) -> Histogram {
        register(name) { Histogram(name: name, help: help, labelNames: labels, buckets: buckets) } render: { $0.render(into: &$1) }
    }

    /// Families written at scrape time.
    public func collector(_ name: String, _ render: @escaping Collector) {
        entries.withLock { entries in
            entries.removeAll { $0.name == name }
            entries.append(Entry(name: name, render: render))
        }
    }

    public func render(into writer: inout ExpositionWriter) {
        for entry in entries.withLock({ $0 }) { entry.render(&writer) }
    }

    private let metrics = Mutex<[String: any Sendable]>([:])

    private func register<M: AnyObject & Sendable>(_ name: String, make: () -> M, render: @escaping @Sendable (M, inout ExpositionWriter) -> Void) -> M {
        let (metric, isNew) = metrics.withLock { metrics -> (M, Bool) in
            if let existing = metrics[name] as? M { return (existing, false) }
            let metric = make()
            metrics[name] = metric
            return (metric, true)
        }
        if isNew { collector(name) { render(metric, &$0) } }
        return metric
    }
}

/// A label set's values in the order of the metric's label names.
typealias LabelValues = [String]

public final class Counter: Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    private let values = Mutex<[LabelValues: Double]>([:])

    init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    public func add(_ amount: Double = 1, _ labels: String...) { add(amount, labels: labels) }

    public func add(_ amount: Double, labels: [String]) {
        precondition(labels.count == labelNames.count, "\(name) takes \(labelNames.count) labels")
        values.withLock { $0[labels, default: 0] += amount }
    }

    public func value(_ labels: String...) -> Double { values.withLock { $0[labels] ?? 0 } }

    func render(into writer: inout ExpositionWriter) {
        writer.labelledValues(name, .counter, help: help, labelNames: labelNames, values.withLock { $0 })
    }
}

public final class Gauge: Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    private let values = Mutex<[LabelValues: Double]>([:])

    init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    public func set(_ value: Double, _ labels: String...) { values.withLock { $0[labels] = value } }

    public func add(_ amount: Double, _ labels: String...) { values.withLock { $0[labels, default: 0] += amount } }

    public func remove(_ labels: String...) { values.withLock { _ = $0.removeValue(forKey: labels) } }

    public func value(_ labels: String...) -> Double { values.withLock { $0[labels] ?? 0 } }

    func render(into writer: inout ExpositionWriter) {
        writer.labelledValues(name, .gauge, help: help, labelNames: labelNames, values.withLock { $0 })
    }
}

public final class Histogram: Sendable {
    /// Seconds, from 5 ms to 60 s (the apiserver's request latency buckets, trimmed).
    public static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    struct Series {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    let name: String
    let help: String
    let labelNames: [String]
    let buckets: [Double]
    private let series = Mutex<[LabelValues: Series]>([:])

    init(name: String, help: String, labelNames: [String], buckets: [Double]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.buckets = buckets.sorted()
    }

    public func observe(_ value: Double, _ labels: String...) { observe(value, labels: labels) }

    public func observe(_ value: Double, labels: [String]) {
        let bucket = buckets.firstIndex { value <= $0 } ?? buckets.count
        series.withLock { all in
            var entry = all[labels] ?? Series(counts: Array(repeating: 0, count: buckets.count + 1))
            entry.counts[bucket] += 1
            entry.sum += value
            entry.count += 1
            all[labels] = entry
        }
    }

    public func count(_ labels: String...) -> UInt64 { series.withLock { $0[labels]?.count ?? 0 } }

    func render(into writer: inout ExpositionWriter) {
        writer.family(name, .histogram, help: help)
        for (labels, entry) in series.withLock({ $0 }).sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            let pairs = Array(zip(labelNames, labels))
            var cumulative: UInt64 = 0
            for (index, bound) in buckets.enumerated() {
                cumulative += entry.counts[index]
                writer.sample(name + "_bucket", labels: pairs + [("le", Self.bound(bound))], Double(cumulative))
            }
            writer.sample(name + "_bucket", labels: pairs + [("le", "+Inf")], Double(entry.count))
            writer.sample(name + "_sum", labels: pairs, entry.sum)
            writer.sample(name + "_count", labels: pairs, Double(entry.count))
        }
    }

    static func bound(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) + ".0" : String(value)
    }
}

extension ExpositionWriter {
    /// A family of plain values (a counter's or a gauge's), its series in label order.
    mutating func labelledValues(_ name: String, _ type: MetricType, help: String, labelNames: [String], _ values: [[String]: Double]) {
        family(name, type, help: help)
        for (labels, value) in values.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            sample(name, labels: Array(zip(labelNames, labels)), value)
        }
    }
}
