import ArgumentParser
import Foundation

/// How the server watches usage and where autoscalers' business metrics come from.
struct MonitoringOptions: ParsableArguments {
    @Option(help: "How often the nodes' CPU, memory and network are read for metrics.k8s.io, `kubectl top` and the history (e.g. 3s).")
    var metricsInterval = "3s"

    @Option(help: "How much usage history the server keeps at 10 s resolution (e.g. 1h, 6h).")
    var metricsHistory = "1h"

    @Option(help: "How often each HorizontalPodAutoscaler is evaluated (e.g. 3s; Kubernetes: 15s).")
    var autoscalerSync = "3s"

    @Option(help: "The Prometheus (http://HOST:PORT) PrometheusMetric objects query when they name none.")
    var prometheusUrl: String?

    func settings() throws -> MonitoringSettings {
        func duration(_ text: String, _ option: String, minimum: Double) throws -> Duration {
            guard let seconds = TokenCreateCommand.parseDuration(text), seconds >= minimum else {
                throw ValidationError("\(option) \(text) is not a duration of at least \(Int(minimum)) s, such as 3s, 10m or 1h")
            }
            return .milliseconds(Int64(seconds * 1000))
        }
        if let prometheusUrl, URL(string: prometheusUrl)?.host == nil { throw ValidationError("--prometheus-url \(prometheusUrl) is not http://HOST:PORT") }
        return MonitoringSettings(interval: try duration(metricsInterval, "--metrics-interval", minimum: 1),
                                  history: try duration(metricsHistory, "--metrics-history", minimum: 60),
                                  autoscalerSync: try duration(autoscalerSync, "--autoscaler-sync", minimum: 1), prometheusURL: prometheusUrl)
    }
}

struct MonitoringSettings {
    var interval: Duration = .seconds(3)
    var history: Duration = .seconds(3600)
    var autoscalerSync: Duration = .seconds(3)
    var prometheusURL: String?
}
