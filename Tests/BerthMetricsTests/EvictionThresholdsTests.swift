import BerthCore
import BerthTestSupport
import Testing
@testable import BerthMetrics

@Suite("Eviction thresholds", .blockingAllowed)
struct EvictionThresholdsTests {
    @Test func parsesQuantitiesAndPercentagesAndRefusesTheRest() throws {
        let thresholds = try EvictionThresholds(parsing: "memory.available<100Mi, nodefs.available<10%")
        #expect(thresholds.thresholds[.memoryAvailable] == .quantity(104_857_600))
        #expect(thresholds.thresholds[.nodefsAvailable] == .percent(10))
        #expect(try EvictionThresholds(parsing: "").thresholds.isEmpty)
        for bad in ["memory.free<1Gi", "memory.available>1Gi", "nodefs.available<120%", "memory.available<lots"] {
            #expect(throws: BerthError.self) { try EvictionThresholds(parsing: bad) }
        }
    }

    @Test func crossingsNameTheConditionAndSayWhatWasLeft() throws {
        let thresholds = try EvictionThresholds(parsing: "memory.available<100Mi,nodefs.available<10%,pid.available<5%")
        let crossings = thresholds.crossed([
            .memoryAvailable: .init(available: 50 * 1_048_576, capacity: 8_589_934_592),
            .nodefsAvailable: .init(available: 20, capacity: 100),
            .pidAvailable: .init(available: 1000, capacity: 32768),
        ])
        #expect(crossings.map { $0.signal } == [EvictionThresholds.Signal.memoryAvailable, .pidAvailable])
        #expect(crossings.map { $0.signal.condition } == ["MemoryPressure", "PIDPressure"])
        #expect(crossings.first?.message == "The node was low on resource: memory. Threshold quantity: 102400Ki, available: 51200Ki.")
    }

    @Test func podsOverTheirRequestsGoFirstThenLowerPriorityThenTheLargest() {
        let order = EvictionRanking.order([
            .init(key: "guaranteed", priority: 0, usage: 30, request: 32),
            .init(key: "small-besteffort", priority: 0, usage: 10, request: 0),
            .init(key: "big-besteffort", priority: 0, usage: 900, request: 0),
            .init(key: "important-burstable", priority: 1000, usage: 2000, request: 100),
        ]).map(\.key)
        #expect(order == ["big-besteffort", "small-besteffort", "important-burstable", "guaranteed"])
    }
}
