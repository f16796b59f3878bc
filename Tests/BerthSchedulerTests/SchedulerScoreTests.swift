import BerthCore
import BerthTestSupport
import Testing
@testable import BerthScheduler

@Suite("Scheduler scores and tie-breaking", .blockingAllowed)
struct SchedulerScoreTests {
    @Test("least allocated: the emptier node wins")
    func leastAllocated() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("full"), Fixture.node("empty")], pods: [])
        snapshot.place(Fixture.pod("hog", cpu: "3", memory: "6Gi", node: "full"))
        for seed in 1...10 { #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p", cpu: "500m"), snapshot, seed: UInt64(seed))) == "empty") }
    }

    @Test("balanced allocation: prefer the node where cpu and memory use stay even")
    func balanced() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("cpu-heavy"), Fixture.node("mem-heavy")], pods: [])
        snapshot.place(Fixture.pod("a", cpu: "2", memory: "1Gi", node: "cpu-heavy"))
        snapshot.place(Fixture.pod("b", cpu: "500m", memory: "4608Mi", node: "mem-heavy"))
        // Both nodes are equally "least allocated" on average; a memory-hungry pod balances cpu-heavy.
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p", cpu: "100m", memory: "3Gi"), snapshot)) == "cpu-heavy")
    }

    @Test("preferred node affinity outweighs small differences in load")
    func preferredNodeAffinity() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("plain"), Fixture.node("fast", labels: ["disk": "ssd"])], pods: [])
        snapshot.place(Fixture.pod("x", cpu: "1", memory: "1Gi", node: "fast"))
        let pod = Fixture.pod("p", spec: ["affinity": ["nodeAffinity": ["preferredDuringSchedulingIgnoredDuringExecution": [
            ["weight": 50, "preference": ["matchExpressions": [["key": "disk", "operator": "In", "values": ["ssd"]]]]]]]]])
        #expect(Fixture.placedNode(Fixture.schedule(pod, snapshot)) == "fast")
    }

    @Test("replicas of one owner spread over nodes, and over zones when nodes have zones")
    func spreading() {
        var snapshot = SchedulingSnapshot(nodes: [
            Fixture.node("a1", labels: [TopologyKeys.zone: "a"]), Fixture.node("a2", labels: [TopologyKeys.zone: "a"]),
            Fixture.node("b1", labels: [TopologyKeys.zone: "b"]),
        ], pods: [])
        snapshot.place(Fixture.pod("r1", node: "a1", owner: "rs"))
        // a2 and b1 both hold no replica; b1's zone holds none either.
        for seed in 1...10 { #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("r2", owner: "rs"), snapshot, seed: UInt64(seed))) == "b1") }
        // A pod of another owner is not pushed away from r1's node.
        let counts = Set((1...40).compactMap { Fixture.placedNode(Fixture.schedule(Fixture.pod("other", owner: "rs2"), snapshot, seed: UInt64($0))) })
        #expect(counts == ["a1", "a2", "b1"])
    }

    @Test("image locality: a node that has the image is preferred")
    func imageLocality() {
        let snapshot = SchedulingSnapshot(nodes: [Fixture.node("cold"), Fixture.node("warm", images: ["docker.io/library/nginx:latest"])], pods: [])
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p", image: "nginx"), snapshot)) == "warm")
    }

    @Test("PreferNoSchedule taints push pods elsewhere when there is a choice")
    func preferNoSchedule() {
        let snapshot = SchedulingSnapshot(nodes: [Fixture.node("soft", taints: [Fixture.taint("x", effect: "PreferNoSchedule")]), Fixture.node("clean")], pods: [])
        for seed in 1...10 { #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p"), snapshot, seed: UInt64(seed))) == "clean") }
    }

    @Test("ties are broken at random among the best nodes only")
    func tieBreaking() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("t1"), Fixture.node("t2"), Fixture.node("t3"), Fixture.node("loaded")], pods: [])
        snapshot.place(Fixture.pod("x", cpu: "1", node: "loaded"))
        var chosen: [String: Int] = [:]
        for seed in 1...300 { chosen[Fixture.placedNode(Fixture.schedule(Fixture.pod("p"), snapshot, seed: UInt64(seed))) ?? "none", default: 0] += 1 }
        #expect(chosen["loaded"] == nil)
        #expect(Set(chosen.keys) == ["t1", "t2", "t3"])
        // Roughly uniform: each of three equal nodes gets a fair share of 300 draws.
        for node in ["t1", "t2", "t3"] { #expect((60...140).contains(chosen[node] ?? 0)) }
        // The same seed gives the same answer.
        #expect(Fixture.schedule(Fixture.pod("p"), snapshot, seed: 7) == Fixture.schedule(Fixture.pod("p"), snapshot, seed: 7))
    }

    @Test("large clusters look at a sample of nodes, rotating where they start")
    func sampling() {
        let scheduler = Scheduler()
        #expect(scheduler.feasibleNodesToFind(50) == 50)
        #expect(scheduler.feasibleNodesToFind(1000) == 420)
        #expect(scheduler.feasibleNodesToFind(5000) == 500)
        let snapshot = SchedulingSnapshot(nodes: (0..<1000).map { Fixture.node("n\($0)") }, pods: [])
        var generator = FastRandom(seed: 3)
        let (_, evaluated) = scheduler.schedule(Fixture.pod("p"), in: snapshot, startIndex: 990, using: &generator)
        #expect(evaluated == 420)
    }

    @Test("no nodes, and snapshot bookkeeping when nodes and pods go away")
    func bookkeeping() {
        #expect(Fixture.message(Fixture.schedule(Fixture.pod("p"), SchedulingSnapshot())) == "0/0 nodes are available: no nodes registered.")
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("a", cpu: "1"), Fixture.node("b", cpu: "1"), Fixture.node("c", cpu: "1")], pods: [])
        snapshot.place(Fixture.pod("x", cpu: "1", node: "c", owner: "rs"))
        snapshot.removeNode(named: "a")
        #expect(snapshot.count == 2)
        #expect(snapshot.node(named: "c")?.requested.milliCPU == 1000)
        #expect(snapshot.ownerCounts["rs"]?[snapshot.index(of: "c")!] == 1)
        snapshot.forget(uid: "uid-default-x")
        #expect(snapshot.node(named: "c")?.requested.milliCPU == 0)
        #expect(snapshot.ownerCounts["rs"] == nil)
    }

    @Test("the fast path (resources only) decides exactly as the full path")
    func fastPathAgrees() {
        var snapshot = SchedulingSnapshot(nodes: (0..<40).map { index in
            Fixture.node("n\(index)", cpu: String(2 + index % 5), memory: "\(4 + index % 7)Gi",
                         labels: [TopologyKeys.zone: "z\(index % 3)"],
                         taints: index % 9 == 0 ? [Fixture.taint("soft", effect: "PreferNoSchedule")]
                            : index % 7 == 3 ? [Fixture.taint("dedicated", "gpu")] : [])
        }, pods: [])
        for index in 0..<60 {
            let owner = "rs-\(index % 4)"
            let fast = Fixture.pod("p\(index)", cpu: "\(100 + index * 37 % 900)m", memory: "\(64 + index * 53 % 700)Mi", owner: owner)
            // A toleration for a taint no node has changes nothing but forces the full path.
            let full = Fixture.pod("p\(index)", cpu: "\(100 + index * 37 % 900)m", memory: "\(64 + index * 53 % 700)Mi", owner: owner,
                                   spec: ["tolerations": [["key": "never-used", "operator": "Exists"]]])
            let fastResult = Fixture.schedule(fast, snapshot, seed: UInt64(index))
            #expect(fastResult == Fixture.schedule(full, snapshot, seed: UInt64(index)))
            if case .placed(_, let node) = fastResult { snapshot.assume(PodSummary(fast), on: node) }
        }
        // A pod that fits nowhere: the same "0/40 nodes are available" message, taints included.
        let huge = Fixture.pod("huge", cpu: "100")
        let hugeFull = Fixture.pod("huge", cpu: "100", spec: ["tolerations": [["key": "never-used", "operator": "Exists"]]])
        let message = Fixture.message(Fixture.schedule(huge, snapshot))
        #expect(message == Fixture.message(Fixture.schedule(hugeFull, snapshot)))
        #expect(message?.contains("untolerated taint {dedicated: gpu}") == true)
    }
}
