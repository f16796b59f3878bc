import BerthCore
@testable import BerthScheduler
import BerthTestSupport
import Testing

@Suite("topology spread constraints", .blockingAllowed)
struct TopologySpreadTests {
    static func constraint(_ key: String, skew: Int = 1, hard: Bool = true, minDomains: Int? = nil, nodeAffinityPolicy: String? = nil) -> JSONValue {
        var value: JSONValue = ["maxSkew": .number(String(skew)), "topologyKey": .string(key),
                                "whenUnsatisfiable": .string(hard ? "DoNotSchedule" : "ScheduleAnyway"),
                                "labelSelector": ["matchLabels": ["app": "web"]]]
        if let minDomains { value["minDomains"] = .number(String(minDomains)) }
        if let nodeAffinityPolicy { value["nodeAffinityPolicy"] = .string(nodeAffinityPolicy) }
        return value
    }

    static func web(_ name: String, _ constraints: [JSONValue], extra: [String: JSONValue] = [:]) -> Pod {
        var spec = extra
        spec["topologySpreadConstraints"] = .array(constraints)
        return Fixture.pod(name, cpu: "100m", labels: ["app": "web"], spec: spec)
    }

    @Test("DoNotSchedule by zone: only the domain within maxSkew of the emptiest one; the reasons per node")
    func hardZone() {
        let nodes = [
            Fixture.node("a1", labels: [TopologyKeys.zone: "a"]), Fixture.node("a2", labels: [TopologyKeys.zone: "a"]),
            Fixture.node("b1", cpu: "1", labels: [TopologyKeys.zone: "b"]), Fixture.node("unlabelled"),
        ]
        var snapshot = SchedulingSnapshot(nodes: nodes, pods: [])
        snapshot.place(Fixture.pod("w1", node: "a1", labels: ["app": "web"]))
        snapshot.place(Fixture.pod("w2", node: "a2", labels: ["app": "web"]))
        // Pods of another namespace, or not selected, do not count against zone b.
        for index in 0..<3 {
            snapshot.place(Fixture.pod("o\(index)", namespace: "other", node: "b1", labels: ["app": "web"]))
            snapshot.place(Fixture.pod("d\(index)", node: "b1", labels: ["app": "db"]))
        }
        let pod = Self.web("new", [Self.constraint(TopologyKeys.zone)])
        for seed in 1...10 { #expect(Fixture.placedNode(Fixture.schedule(pod, snapshot, seed: UInt64(seed))) == "b1") }
        // Zone b cannot take it (its one node is full): nothing else is within the skew.
        snapshot.place(Fixture.pod("hog", cpu: "1", node: "b1"))
        #expect(Fixture.message(Fixture.schedule(pod, snapshot)) == "0/4 nodes are available: 2 node(s) didn't match pod topology spread constraints, "
            + "1 Insufficient cpu, 1 node(s) didn't match pod topology spread constraints (missing required label).")
    }

    @Test("six replicas under a zone constraint land three and three; maxSkew 2 allows an uneven start")
    func replicasBalance() {
        var snapshot = SchedulingSnapshot(nodes: [
            Fixture.node("a1", labels: [TopologyKeys.zone: "a"]), Fixture.node("a2", labels: [TopologyKeys.zone: "a"]),
            Fixture.node("b1", labels: [TopologyKeys.zone: "b"]),
        ], pods: [])
        var zones: [String: Int] = [:]
        for index in 0..<6 {
            let pod = Self.web("w\(index)", [Self.constraint(TopologyKeys.zone)])
            var generator = FastRandom(seed: UInt64(index + 1))
            let (result, _) = Scheduler().schedule(pod, in: snapshot, using: &generator)
            guard case .placed(let node, let nodeIndex) = result else { Issue.record("w\(index) not placed"); return }
            zones[node == "b1" ? "b" : "a", default: 0] += 1
            snapshot.assume(PodSummary(pod), on: nodeIndex)
            #expect(abs(zones["a", default: 0] - zones["b", default: 0]) <= 1)
        }
        #expect(zones == ["a": 3, "b": 3])
        var loose = SchedulingSnapshot(nodes: [Fixture.node("a1", labels: [TopologyKeys.zone: "a"]), Fixture.node("b1", labels: [TopologyKeys.zone: "b"])], pods: [])
        loose.place(Fixture.pod("w0", node: "a1", labels: ["app": "web"]))
        let skew2 = Self.web("w1", [Self.constraint(TopologyKeys.zone, skew: 2)], extra: ["nodeSelector": [TopologyKeys.zone: "a"]])
        #expect(Fixture.placedNode(Fixture.schedule(skew2, loose)) == "a1")
        let skew1 = Self.web("w1", [Self.constraint(TopologyKeys.zone)], extra: ["nodeSelector": [TopologyKeys.zone: "a"]])
        // With the default nodeAffinityPolicy (Honor) zone b is not a domain for this pod.
        #expect(Fixture.placedNode(Fixture.schedule(skew1, loose)) == "a1")
        let ignoring = Self.web("w1", [Self.constraint(TopologyKeys.zone, nodeAffinityPolicy: "Ignore")], extra: ["nodeSelector": [TopologyKeys.zone: "a"]])
        #expect(Fixture.message(Fixture.schedule(ignoring, loose)) == "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
            + "1 node(s) didn't match pod topology spread constraints.")
    }

    @Test("minDomains: fewer domains than asked count the minimum as zero")
    func minDomains() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("a1", labels: [TopologyKeys.zone: "a"]), Fixture.node("b1", labels: [TopologyKeys.zone: "b"])], pods: [])
        snapshot.place(Fixture.pod("w0", node: "a1", labels: ["app": "web"]))
        snapshot.place(Fixture.pod("w1", node: "b1", labels: ["app": "web"]))
        #expect(Fixture.placedNode(Fixture.schedule(Self.web("w2", [Self.constraint(TopologyKeys.zone)]), snapshot)) != nil)
        let three = Self.web("w2", [Self.constraint(TopologyKeys.zone, minDomains: 3)])
        #expect(Fixture.message(Fixture.schedule(three, snapshot)) == "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints.")
    }

    @Test("ScheduleAnyway prefers the host with the fewest matching pods but never refuses")
    func softHostname() {
        let nodes = ["n1", "n2", "n3"].map { Fixture.node($0, labels: [TopologyKeys.hostname: $0]) }
        var snapshot = SchedulingSnapshot(nodes: nodes, pods: [])
        snapshot.place(Fixture.pod("w0", node: "n1", labels: ["app": "web"]))
        snapshot.place(Fixture.pod("w1", node: "n1", labels: ["app": "web"]))
        snapshot.place(Fixture.pod("w2", node: "n2", labels: ["app": "web"]))
        let pod = Self.web("new", [Self.constraint(TopologyKeys.hostname, hard: false)])
        for seed in 1...20 { #expect(Fixture.placedNode(Fixture.schedule(pod, snapshot, seed: UInt64(seed))) == "n3") }
        let onlyBusy = Self.web("new", [Self.constraint(TopologyKeys.hostname, hard: false)], extra: ["nodeSelector": [TopologyKeys.hostname: "n1"]])
        #expect(Fixture.placedNode(Fixture.schedule(onlyBusy, snapshot)) == "n1")
    }

    @Test("bad constraints name their fields")
    func validation() throws {
        let pod = try JSONParser.parse(#"""
            {"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}],"topologySpreadConstraints":[
              {"maxSkew":0,"topologyKey":"","whenUnsatisfiable":"Sometimes"},
              {"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"ScheduleAnyway","minDomains":2,"nodeAffinityPolicy":"Maybe"},
              {"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"ScheduleAnyway"}]}}
            """#).decode(Pod.self)
        let fields = Set(Pod.validate(pod, old: nil).causes.compactMap(\.field))
        #expect(fields == ["spec.topologySpreadConstraints[0].maxSkew", "spec.topologySpreadConstraints[0].topologyKey",
                           "spec.topologySpreadConstraints[0].whenUnsatisfiable", "spec.topologySpreadConstraints[1].minDomains",
                           "spec.topologySpreadConstraints[1].nodeAffinityPolicy", "spec.topologySpreadConstraints[2].{topologyKey, whenUnsatisfiable}"])
    }
}
