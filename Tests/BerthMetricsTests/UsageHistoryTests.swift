import BerthTestSupport
import Testing
@testable import BerthMetrics

@Suite("Usage history", .blockingAllowed)
struct UsageHistoryTests {
    @Test func keepsTheWindowAtItsResolutionAndNoMore() {
        let history = UsageHistory(window: .seconds(60), resolution: .seconds(10))
        let pod = SeriesKey(.pod, namespace: "default", name: "web-1")
        for second in stride(from: 1000.0, through: 1200, by: 5) {
            history.record(pod, at: second, UsagePoint(cpuCores: second / 1000, memoryBytes: 100))
        }
        let points = history.points(pod, since: 0, now: 1200)
        // 60 s at 10 s: six steps, the newest sample of each step.
        #expect(points.map(\.time) == [1150, 1160, 1170, 1180, 1190, 1200])
        // Stored as Float: seven significant digits.
        #expect(abs((points.first?.point.cpuCores ?? 0) - 1.155) < 1e-6)
        // The step holding `since` is included.
        #expect(history.points(pod, since: 1185, now: 1200).map(\.time) == [1180, 1190, 1200])
        #expect(history.ringBytes == 6 * 24)
    }

    @Test func gapsStayGapsAndOldSeriesExpire() {
        let history = UsageHistory(window: .seconds(60), resolution: .seconds(10))
        let node = SeriesKey(.node, name: "n1")
        history.record(node, at: 1000, UsagePoint(cpuCores: 1, memoryBytes: 1))
        history.record(node, at: 1030, UsagePoint(cpuCores: 2, memoryBytes: 2))
        #expect(history.points(node, since: 0, now: 1040).map(\.time) == [1000, 1030])
        history.expire(now: 1080)
        #expect(history.seriesCount == 1)
        history.expire(now: 1100)
        #expect(history.seriesCount == 0)
    }

    @Test func theSeriesWrittenLongestAgoMakesRoomWhenFull() {
        let history = UsageHistory(window: .seconds(60), resolution: .seconds(10), maximumSeries: 2)
        history.record(SeriesKey(.pod, namespace: "a", name: "old"), at: 1000, UsagePoint(cpuCores: 1, memoryBytes: 1))
        history.record(SeriesKey(.pod, namespace: "a", name: "mid"), at: 1010, UsagePoint(cpuCores: 1, memoryBytes: 1))
        history.record(SeriesKey(.pod, namespace: "a", name: "new"), at: 1020, UsagePoint(cpuCores: 1, memoryBytes: 1))
        #expect(history.keys(.pod).map(\.name) == ["mid", "new"])
    }
}
