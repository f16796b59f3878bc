import BerthMetrics

/// kube-scheduler's metrics: attempts by result and their latency, and pods waiting.
enum SchedulerMetrics {
    static let attempts = MetricsRegistry.process.counter("scheduler_schedule_attempts_total", help: "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be scheduled, while 'error' means an internal scheduler problem.",
                                                          labels: ["profile", "result"])
    static let duration = MetricsRegistry.process.histogram("scheduler_scheduling_attempt_duration_seconds", help: "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
                                                            labels: ["profile", "result"], buckets: [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])

    static func attempt(_ decision: SchedulerService.Decision, seconds: Double) {
        let result: String
        switch decision {
        case .bind: result = "scheduled"
        case .unschedulable, .preempt, .awaitingVictims: result = "unschedulable"
        }
        attempts.add(1, "default-scheduler", result)
        duration.observe(seconds, "default-scheduler", result)
    }

    static func watch(_ scheduler: SchedulerService) {
        MetricsRegistry.process.collector("scheduler_pending_pods") { [weak scheduler] writer in
            writer.family("scheduler_pending_pods", .gauge, help: "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'unschedulable' means number of pods waiting for a place.")
            writer.sample("scheduler_pending_pods", ["queue": "active"], Double(scheduler?.queue.length ?? 0))
            writer.sample("scheduler_pending_pods", ["queue": "unschedulable"], Double(scheduler?.waitingCount ?? 0))
        }
    }
}
