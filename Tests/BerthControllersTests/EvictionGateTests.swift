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
        var allowed = gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: start)
        #expect(allowed == ["a"])
        #expect(gate.shouldEvict(node: "n1", zone: "a", state: .partialDisruption, allowed: &allowed, now: start))
        #expect(!gate.shouldEvict(node: "n2", zone: "a", state: .partialDisruption, allowed: &allowed, now: start)) // one per check
        #expect(gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: start + .seconds(99)).isEmpty)
        #expect(gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: start + .seconds(100)) == ["a"])
    }

    /// The slot of a partly disrupted zone goes to a node not evicted yet, not every 100 s to the
    /// first node in cache order, whose pods are long gone.
    @Test func aPartlyDisruptedZoneMovesOnToTheNextNode() {
        var gate = EvictionGate()
        let start = ContinuousClock.now
        let large = (lost: ["a": 60], total: ["a": 100])
        var evicted: [String] = []
        for round in 0..<3 {
            let now = start + .seconds(100 * round)
            var allowed = gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: now)
            for node in ["n1", "n2", "n3", "n4"] where gate.shouldEvict(node: node, zone: "a", state: .partialDisruption, allowed: &allowed, now: now) {
                evicted.append(node)
            }
        }
        #expect(evicted == ["n1", "n2", "n3"])
        // n1 came back and was lost again: a new outage, so it may be evicted again.
        gate.keepEvictions(of: ["n2", "n3"])
        var allowed = gate.zonesThatMayEvict(lostByZone: large.lost, totalByZone: large.total, now: start + .seconds(300))
        #expect(gate.shouldEvict(node: "n1", zone: "a", state: .partialDisruption, allowed: &allowed, now: start + .seconds(300)))
    }

    @Test func aNormalZoneSweepsItsLostNodesOnEveryCheck() {
        var gate = EvictionGate()
        var allowed: Set<String> = ["a"]
        #expect(gate.shouldEvict(node: "n1", zone: "a", state: .normal, allowed: &allowed, now: .now))
        #expect(gate.shouldEvict(node: "n2", zone: "a", state: .normal, allowed: &allowed, now: .now))
        #expect(gate.shouldEvict(node: "n1", zone: "a", state: .normal, allowed: &allowed, now: .now))
        var none: Set<String> = []
        #expect(!gate.shouldEvict(node: "n1", zone: "a", state: .normal, allowed: &none, now: .now))
    }
}
