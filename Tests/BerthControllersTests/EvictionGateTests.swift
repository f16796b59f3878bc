@testable import BerthControllers
import Testing

/// When the pods of lost nodes may be evicted, zone by zone (Kubernetes' disruption modes).
struct EvictionGateTests {
    @Test func zoneStatesFollowKubernetesThresholds() {
        #expect(EvictionGate.state(lost: 0, total: 3) == .normal)
        #expect(EvictionGate.state(lost: 1, total: 3) == .normal)
        #expect(EvictionGate.state(lost: 2, total: 3) == .normal) // two lost nodes are never a disruption
        #expect(EvictionGate.state(lost: 3, total: 3) == .fullDisruption)
        #expect(EvictionGate.state(lost: 55, total: 100) == .partialDisruption)
        #expect(EvictionGate.state(lost: 54, total: 100) == .normal)
    }

    @Test func oneLostHostOfThreeIsEvicted() {
        var gate = EvictionGate()
        #expect(gate.zonesThatMayEvict(lostByZone: ["": 1], totalByZone: ["": 3], now: .now) == [""])
    }

    @Test func everyNodeLostAtOnceEvictsNothing() {
        var gate = EvictionGate()
        #expect(gate.zonesThatMayEvict(lostByZone: ["": 1000], totalByZone: ["": 1000], now: .now).isEmpty)
        #expect(gate.zonesThatMayEvict(lostByZone: ["a": 5, "b": 5], totalByZone: ["a": 5, "b": 5], now: .now).isEmpty)
    }

    @Test func aWholeZoneGoneAmongHealthyOnesIsEvicted() {
        var gate = EvictionGate()
        #expect(gate.zonesThatMayEvict(lostByZone: ["a": 5], totalByZone: ["a": 5, "b": 5], now: .now) == ["a", "b"])
    }

    @Test func aPartlyDisruptedZoneEvictsSlowlyInALargeClusterAndNotAtAllInASmallOne() {
        var gate = EvictionGate()
        let start = ContinuousClock.now
        #expect(gate.zonesThatMayEvict(lostByZone: ["a": 10], totalByZone: ["a": 12], now: start).isEmpty)
        let large = (lost: ["a": 60], total: ["a": 100])
        #expect(gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: start) == ["a"])
        gate.recordEviction(zone: "a", state: .partialDisruption, now: start)
        #expect(gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: start + .seconds(99)).isEmpty)
        #expect(gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: start + .seconds(100)) == ["a"])
    }
}
