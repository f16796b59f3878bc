import BerthCore
import BerthTestSupport
import Testing
@testable import BerthScheduler

@Suite("Scheduler filters", .blockingAllowed)
struct SchedulerFilterTests {
    @Test("resource fit: cpu, memory, pod count and extended resources, each reported")
    func resourceFit() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("small", cpu: "1", memory: "1Gi", pods: 2), Fixture.node("big", cpu: "8", memory: "16Gi")], pods: [])
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p", cpu: "2", memory: "2Gi"), snapshot)) == "big")
        let tooBig = Fixture.schedule(Fixture.pod("p", cpu: "9", memory: "1Gi"), snapshot)
        #expect(Fixture.message(tooBig) == "0/2 nodes are available: 2 Insufficient cpu.")
        let both = Fixture.schedule(Fixture.pod("p", cpu: "9", memory: "20Gi"), snapshot)
        #expect(Fixture.message(both) == "0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory.")
        // Pods already placed count against the node.
        snapshot.place(Fixture.pod("a", cpu: "7", node: "big"))
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p", cpu: "1"), snapshot)) == "small")
        snapshot.place(Fixture.pod("b", node: "small"))
        snapshot.place(Fixture.pod("c", node: "small"))
        #expect(Fixture.message(Fixture.schedule(Fixture.pod("p", cpu: "1500m"), snapshot))
                == "0/2 nodes are available: 2 Insufficient cpu, 1 Too many pods.")
        let gpu = SchedulingSnapshot(nodes: [Fixture.node("plain"), Fixture.node("gpu", extra: ["berth.dev/gpu": "2"])], pods: [])
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p", other: ["berth.dev/gpu": "1"]), gpu)) == "gpu")
        #expect(Fixture.message(Fixture.schedule(Fixture.pod("p", other: ["berth.dev/gpu": "3"]), gpu))
                == "0/2 nodes are available: 2 Insufficient berth.dev/gpu.")
    }

    @Test("limits stand in for missing requests; init containers count by their maximum")
    func requestArithmetic() throws {
        let spec = try JSONValue.object([
            "containers": [["name": "a", "image": "x", "resources": ["limits": ["cpu": "500m", "memory": "1Gi"]]],
                           ["name": "b", "image": "x", "resources": ["requests": ["cpu": "250m"]]]],
            "initContainers": [["name": "i", "image": "x", "resources": ["requests": ["cpu": "2", "memory": "100Mi"]]]],
        ]).decode(PodSpec.self)
        let requests = ResourceVector.requests(of: spec)
        #expect(requests.milliCPU == 2000)
        #expect(requests.memory == 1 << 30)
        #expect(requests.pods == 1)
    }

    @Test("unschedulable nodes are skipped unless tolerated")
    func unschedulable() {
        let snapshot = SchedulingSnapshot(nodes: [Fixture.node("cordoned", unschedulable: true)], pods: [])
        #expect(Fixture.message(Fixture.schedule(Fixture.pod("p"), snapshot)) == "0/1 nodes are available: 1 node(s) were unschedulable.")
        let tolerant = Fixture.pod("p", spec: ["tolerations": [["key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"]]])
        #expect(Fixture.placedNode(Fixture.schedule(tolerant, snapshot)) == "cordoned")
    }

    @Test("taints: NoSchedule and NoExecute need a toleration; operators Equal and Exists")
    func taints() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixture.node("gpu", taints: [Fixture.taint("dedicated", "gpu")]),
            Fixture.node("edge", taints: [Fixture.taint("role", "gateway", effect: "NoExecute")]),
            Fixture.node("busy", cpu: "100m"),
        ], pods: [])
        let result = Fixture.schedule(Fixture.pod("p", cpu: "1"), snapshot)
        #expect(Fixture.message(result) == "0/3 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {role: gateway}.")
        let equal = Fixture.pod("p", cpu: "1", spec: ["tolerations": [["key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"]]])
        #expect(Fixture.placedNode(Fixture.schedule(equal, snapshot)) == "gpu")
        let wrongValue = Fixture.pod("p", cpu: "1", spec: ["tolerations": [["key": "dedicated", "operator": "Equal", "value": "cpu"]]])
        #expect(Fixture.placedNode(Fixture.schedule(wrongValue, snapshot)) == nil)
        let exists = Fixture.pod("p", cpu: "1", spec: ["tolerations": [["key": "role", "operator": "Exists"]]])
        #expect(Fixture.placedNode(Fixture.schedule(exists, snapshot)) == "edge")
        let everything = Fixture.pod("p", cpu: "1", spec: ["tolerations": [["operator": "Exists"]]])
        #expect(Fixture.placedNode(Fixture.schedule(everything, snapshot)) != nil)
        // PreferNoSchedule never filters.
        let soft = SchedulingSnapshot(nodes: [Fixture.node("soft", taints: [Fixture.taint("x", effect: "PreferNoSchedule")])], pods: [])
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p"), soft)) == "soft")
    }

    @Test("a node that is not Ready is treated as tainted")
    func notReady() {
        let snapshot = SchedulingSnapshot(nodes: [Fixture.node("down", ready: false)], pods: [])
        #expect(Fixture.message(Fixture.schedule(Fixture.pod("p"), snapshot)) == "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.")
    }

    @Test("host ports conflict on the same port and protocol")
    func hostPorts() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("a"), Fixture.node("b")], pods: [])
        snapshot.place(Fixture.pod("web1", node: "a", hostPort: 8080))
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("web2", hostPort: 8080), snapshot)) == "b")
        snapshot.place(Fixture.pod("web3", node: "b", hostPort: 8080))
        #expect(Fixture.message(Fixture.schedule(Fixture.pod("web4", hostPort: 8080), snapshot))
                == "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.")
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("web5", hostPort: 8081), snapshot)) != nil)
    }

    @Test("nodeSelector and required node affinity (In, NotIn, Exists, Gt, matchFields)")
    func nodeAffinity() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixture.node("ssd-1", labels: ["disk": "ssd", "gen": "5"]),
            Fixture.node("hdd-1", labels: ["disk": "hdd", "gen": "3"]),
        ], pods: [])
        #expect(Fixture.placedNode(Fixture.schedule(Fixture.pod("p", spec: ["nodeSelector": ["disk": "hdd"]]), snapshot)) == "hdd-1")
        #expect(Fixture.message(Fixture.schedule(Fixture.pod("p", spec: ["nodeSelector": ["disk": "nvme"]]), snapshot))
                == "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.")
        func affinity(_ expressions: JSONValue, fields: JSONValue? = nil) -> Pod {
            var term: JSONValue = ["matchExpressions": expressions]
            if let fields { term = ["matchFields": fields] }
            return Fixture.pod("p", spec: ["affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [term]]]]])
        }
        #expect(Fixture.placedNode(Fixture.schedule(affinity([["key": "disk", "operator": "In", "values": ["ssd"]]]), snapshot)) == "ssd-1")
        #expect(Fixture.placedNode(Fixture.schedule(affinity([["key": "disk", "operator": "NotIn", "values": ["ssd"]]]), snapshot)) == "hdd-1")
        #expect(Fixture.placedNode(Fixture.schedule(affinity([["key": "gen", "operator": "Gt", "values": ["4"]]]), snapshot)) == "ssd-1")
        #expect(Fixture.placedNode(Fixture.schedule(affinity([["key": "gpu", "operator": "Exists"]]), snapshot)) == nil)
        #expect(Fixture.placedNode(Fixture.schedule(affinity([], fields: [["key": "metadata.name", "operator": "In", "values": ["hdd-1"]]]), snapshot)) == "hdd-1")
    }

    @Test("required pod affinity and anti-affinity by hostname and zone, including existing pods' anti-affinity")
    func podAffinity() {
        let nodes = [
            Fixture.node("a1", labels: [TopologyKeys.zone: "a"]), Fixture.node("a2", labels: [TopologyKeys.zone: "a"]),
            Fixture.node("b1", labels: [TopologyKeys.zone: "b"]),
        ]
        var snapshot = SchedulingSnapshot(nodes: nodes, pods: [])
        snapshot.place(Fixture.pod("db", node: "a1", labels: ["app": "db"]))
        func term(_ app: String, _ key: String) -> JSONValue { [["labelSelector": ["matchLabels": ["app": .string(app)]], "topologyKey": .string(key)]] }
        let nearDB = Fixture.pod("cache", spec: ["affinity": ["podAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": term("db", TopologyKeys.hostname)]]])
        #expect(Fixture.placedNode(Fixture.schedule(nearDB, snapshot)) == "a1")
        let sameZone = Fixture.pod("cache", spec: ["affinity": ["podAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": term("db", TopologyKeys.zone)]]])
        for seed in 1...20 { #expect(["a1", "a2"].contains(Fixture.placedNode(Fixture.schedule(sameZone, snapshot, seed: UInt64(seed))) ?? "")) }
        let awayZone = Fixture.pod("replica", spec: ["affinity": ["podAntiAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": term("db", TopologyKeys.zone)]]])
        #expect(Fixture.placedNode(Fixture.schedule(awayZone, snapshot)) == "b1")
        let nowhere = Fixture.pod("x", spec: ["affinity": ["podAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": term("missing", TopologyKeys.hostname)]]])
        #expect(Fixture.message(Fixture.schedule(nowhere, snapshot)) == "0/3 nodes are available: 3 node(s) didn't match pod affinity rules.")
        // The first pod of a self-affine group may go anywhere.
        let firstOfGroup = Fixture.pod("g1", labels: ["app": "group"], spec: ["affinity": ["podAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": term("group", TopologyKeys.hostname)]]])
        #expect(Fixture.placedNode(Fixture.schedule(firstOfGroup, snapshot)) != nil)
        // Symmetry: an existing pod that repels "app=web" keeps web pods off its node.
        snapshot.place(Fixture.pod("loner", node: "b1", labels: ["app": "loner"],
                                   spec: ["affinity": ["podAntiAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": term("web", TopologyKeys.hostname)]]]))
        let web = Fixture.pod("web", labels: ["app": "web"], spec: ["nodeSelector": [TopologyKeys.zone: "b"]])
        #expect(Fixture.message(Fixture.schedule(web, snapshot)) == "0/3 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, 1 node(s) didn't satisfy existing pods anti-affinity rules.")
    }

    @Test("affinity namespaces: own namespace by default, the namespaces list, namespaceSelector by labels, {} for all")
    func affinityNamespaces() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("n1"), Fixture.node("n2"), Fixture.node("n3")], pods: [])
        snapshot.setNamespaceLabels("prod", ["env": "prod"])
        snapshot.setNamespaceLabels("staging", ["env": "staging"])
        snapshot.place(Fixture.pod("db", namespace: "prod", node: "n1", labels: ["app": "db"]))
        snapshot.place(Fixture.pod("db", namespace: "staging", node: "n2", labels: ["app": "db"]))
        func near(_ extra: [String: JSONValue]) -> Pod {
            var term: JSONValue = ["labelSelector": ["matchLabels": ["app": "db"]], "topologyKey": .string(TopologyKeys.hostname)]
            for (key, value) in extra { term[key] = value }
            return Fixture.pod("cache", namespace: "web", spec: ["affinity": ["podAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": [term]]]])
        }
        #expect(Fixture.message(Fixture.schedule(near([:]), snapshot)) == "0/3 nodes are available: 3 node(s) didn't match pod affinity rules.",
                "only the pod's own namespace, where no db runs")
        #expect(Fixture.placedNode(Fixture.schedule(near(["namespaces": ["staging"]]), snapshot)) == "n2")
        #expect(Fixture.placedNode(Fixture.schedule(near(["namespaceSelector": ["matchLabels": ["env": "prod"]]]), snapshot)) == "n1")
        for seed in 1...10 {
            let anywhere = Fixture.placedNode(Fixture.schedule(near(["namespaceSelector": [:]]), snapshot, seed: UInt64(seed)))
            #expect(anywhere == "n1" || anywhere == "n2")
        }
        // The list and the selector add up.
        let both = near(["namespaces": ["staging"], "namespaceSelector": ["matchLabels": ["env": "prod"]]])
        var placed: Set<String> = []
        for seed in 1...20 { placed.insert(Fixture.placedNode(Fixture.schedule(both, snapshot, seed: UInt64(seed))) ?? "") }
        #expect(placed == ["n1", "n2"])
        // Relabelled namespaces count from then on; anti-affinity by selector keeps off both.
        snapshot.setNamespaceLabels("staging", ["env": "prod"])
        let away = Fixture.pod("batch", namespace: "web", spec: ["affinity": ["podAntiAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": [
            ["labelSelector": ["matchLabels": ["app": "db"]], "topologyKey": .string(TopologyKeys.hostname), "namespaceSelector": ["matchLabels": ["env": "prod"]]],
        ]]]])
        #expect(Fixture.placedNode(Fixture.schedule(away, snapshot)) == "n3")
    }

    @Test("six replicas with hostname anti-affinity on three nodes: two per node, then no room")
    func antiAffinitySpread() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("n1"), Fixture.node("n2"), Fixture.node("n3")], pods: [])
        let anti: JSONValue = ["podAntiAffinity": ["preferredDuringSchedulingIgnoredDuringExecution": [
            ["weight": 100, "podAffinityTerm": ["labelSelector": ["matchLabels": ["app": "web"]], "topologyKey": .string(TopologyKeys.hostname)]]]]]
        var counts: [String: Int] = [:]
        for index in 0..<6 {
            let pod = Fixture.pod("web-\(index)", labels: ["app": "web"], owner: "rs-web", spec: ["affinity": anti])
            var generator = FastRandom(seed: UInt64(index))
            let (result, _) = Scheduler().schedule(pod, in: snapshot, using: &generator)
            guard case .placed(let node, let nodeIndex) = result else { Issue.record("not placed"); return }
            counts[node, default: 0] += 1
            snapshot.assume(PodSummary(pod), on: nodeIndex)
        }
        #expect(counts == ["n1": 2, "n2": 2, "n3": 2])
    }
}
