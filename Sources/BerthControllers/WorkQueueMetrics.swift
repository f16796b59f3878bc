import BerthMetrics
import Synchronization

/// client-go's work queue metrics (`workqueue_depth`, `workqueue_adds_total`,
/// `workqueue_queue_duration_seconds`, `workqueue_work_duration_seconds`,
/// `workqueue_retries_total`), labelled by the queue's `name` (the controller).
struct WorkQueueMetrics: Sendable {
    static let adds = MetricsRegistry.process.counter("workqueue_adds_total", help: "Total number of adds handled by workqueue", labels: ["name"])
    static let retries = MetricsRegistry.process.counter("workqueue_retries_total", help: "Total number of retries handled by workqueue", labels: ["name"])
    static let queueDuration = MetricsRegistry.process.histogram("workqueue_queue_duration_seconds", help: "How long in seconds an item stays in workqueue before being requested.",
                                                                 labels: ["name"], buckets: durationBuckets)
    static let workDuration = MetricsRegistry.process.histogram("workqueue_work_duration_seconds", help: "How long in seconds processing an item from workqueue takes.",
                                                                labels: ["name"], buckets: durationBuckets)
    static let durationBuckets: [Double] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10]

    /// The live queues by name, for `workqueue_depth` at scrape time (a controller started
    /// again after a lost lease replaces its old queue).
    private static let queues = Mutex<[String: WeakQueue]>([:])

    struct WeakQueue: @unchecked Sendable { weak var queue: WorkQueue? }

    let name: String

    func added(key: String) { Self.adds.add(1, name) }
    func retried() { Self.retries.add(1, name) }
    func queued(seconds: Double) { Self.queueDuration.observe(seconds, name) }
    func worked(seconds: Double) { Self.workDuration.observe(seconds, name) }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func register(_ queue: WorkQueue, name: String) {
        queues.withLock { $0[name] = WeakQueue(queue: queue) }
        MetricsRegistry.process.collector("workqueue_depth") { writer in
            writer.family("workqueue_depth", .gauge, help: "Current depth of workqueue")
            let live = queues.withLock { queues in queues.compactMap { entry in entry.value.queue.map { (entry.key, $0) } } }
            for (name, queue) in live.sorted(by: { $0.0 < $1.0 }) { writer.sample("workqueue_depth", ["name": name], Double(queue.length)) }
        }
    }
}
