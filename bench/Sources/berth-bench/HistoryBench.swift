import BerthCore
import BerthMetrics
import Foundation

/// What the usage history costs the server: `series` series (pods, workloads, nodes) filled
/// for a whole window at its resolution, the resident memory before and after (this process's
/// VmRSS), and the time one pass of recording every series takes (what the collector does each
/// interval). One JSON line.
struct HistoryBench {
    let series: Int
    let window: Duration

    func run() -> JSONValue {
        let history = UsageHistory(window: window, resolution: .seconds(10), maximumSeries: series)
        let before = Self.rss()
        let steps = Int(window.components.seconds / 10)
        let start = Date().timeIntervalSince1970 - Double(window.components.seconds)
        let keys = (0..<series).map { SeriesKey(.pod, namespace: "ns-\($0 % 100)", name: "pod-\($0)") }
        var passSeconds = 0.0
        for step in 0..<steps {
            let began = ContinuousClock.now
            let time = start + Double(step * 10)
            for (index, key) in keys.enumerated() {
                history.record(key, at: time, UsagePoint(cpuCores: Double(index % 7) / 10, memoryBytes: Double(index) * 1024,
                                                         receiveBytesPerSecond: 100, transmitBytesPerSecond: 50))
            }
            let elapsed = ContinuousClock.now - began
            if step == steps - 1 { passSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18 }
        }
        let after = Self.rss()
        let perSeries = Double(after - before) / Double(series)
        return [
            "bench": "metrics_history_memory", "series": .number(String(series)), "window_s": .number(String(window.components.seconds)),
            "points_per_series": .number(String(steps)), "rss_growth_mb": .number(String(format: "%.1f", Double(after - before) / 1_048_576)),
            "bytes_per_series": .number(String(format: "%.0f", perSeries)), "ring_bytes_per_series": .number(String(history.ringBytes / max(1, history.seriesCount))),
            "record_pass_ms": .number(String(format: "%.1f", passSeconds * 1000)),
        ]
    }

    static func rss() -> Int64 {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
        }
        return 0
    }
}
