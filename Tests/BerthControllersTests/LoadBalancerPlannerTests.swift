import BerthControllers
import BerthCore
import BerthTestSupport
import Testing

@Suite("load-balancer address planner", .blockingAllowed)
struct LoadBalancerPlannerTests {
    static func service(_ name: String, namespace: String = "shop", created: String = "2026-12-07T10:00:00Z", type: String = "LoadBalancer",
                        current: String? = nil, asked: String? = nil, pool: String? = nil, loadBalancerClass: String? = nil) -> Service {
        var annotations: [String: String] = [:]
        if let asked { annotations[LoadBalancerPool.addressAnnotation] = asked }
        if let pool { annotations[LoadBalancerPool.poolAnnotation] = pool }
        var object: JSONValue = [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": .string(name), "namespace": .string(namespace), "creationTimestamp": .string(created),
                         "annotations": .object(annotations.mapValues { .string($0) })],
            "spec": ["type": .string(type), "ports": [["port": 80]]],
        ]
        if let loadBalancerClass { object.set(.string(loadBalancerClass), at: ["spec", "loadBalancerClass"]) }
        if let current { object.set(["ingress": [["ip": .string(current)]]], at: ["status", "loadBalancer"]) }
        return try! object.decode(Service.self)
    }

    static func pool(_ name: String, _ addresses: [String], autoAssign: Bool? = nil, namespaces: [String: String]? = nil) -> LoadBalancerPool {
        LoadBalancerPool(metadata: ObjectMeta(name: name),
                         spec: LoadBalancerPoolSpec(addresses: addresses, namespaceSelector: namespaces.map { LabelSelectorSpec(matchLabels: $0) },
                                                    autoAssign: autoAssign))
    }

    @Test("lowest free address, oldest Service first; held addresses stay; an asked-for address is given or refused with the reason")
    func assignment() {
        let pools = [Self.pool("main", ["100.72.200.100-100.72.200.102"])]
        let plan = LoadBalancerPlanner.plan(pools: pools, services: [
            Self.service("b", created: "2026-12-07T10:00:02Z"),
            Self.service("a", created: "2026-12-07T10:00:01Z"),
            Self.service("held", created: "2026-12-07T10:00:09Z", current: "100.72.200.101"),
            Self.service("internal", type: "ClusterIP"),
        ], namespaceLabels: [:])
        #expect(plan.addresses["shop/a"] == .some("100.72.200.100"))
        #expect(plan.addresses["shop/b"] == .some("100.72.200.102"))
        #expect(plan.addresses["shop/held"] == .some("100.72.200.101"))
        #expect(plan.addresses["shop/internal"] == nil)
        #expect(plan.assignments["main"] == ["100.72.200.100": "shop/a", "100.72.200.101": "shop/held", "100.72.200.102": "shop/b"])

        // Full: the newest Service waits, told why.
        let full = LoadBalancerPlanner.plan(pools: pools, services: (0..<4).map { Self.service("s\($0)", created: "2026-12-07T10:00:0\($0)Z") },
                                            namespaceLabels: [:])
        #expect(full.addresses["shop/s3"] == .some(nil))
        #expect(full.problems["shop/s3"]?.contains("full") == true)

        // Asked for: granted when free and in a serving pool; a taken or foreign address is refused.
        let asked = LoadBalancerPlanner.plan(pools: pools, services: [
            Self.service("first", created: "2026-12-07T10:00:01Z", asked: "100.72.200.102"),
            Self.service("second", created: "2026-12-07T10:00:02Z", asked: "100.72.200.102"),
            Self.service("outside", asked: "100.72.9.9"),
        ], namespaceLabels: [:])
        #expect(asked.addresses["shop/first"] == .some("100.72.200.102"))
        #expect(asked.problems["shop/second"] == "the requested address 100.72.200.102 is held by Service shop/first")
        #expect(asked.problems["shop/outside"]?.contains("is in no LoadBalancerPool that serves namespace shop") == true)
        // Asking for another address than the one held moves the Service to it.
        let moved = LoadBalancerPlanner.plan(pools: pools, services: [Self.service("m", current: "100.72.200.100", asked: "100.72.200.101")], namespaceLabels: [:])
        #expect(moved.addresses["shop/m"] == .some("100.72.200.101"))
    }

    @Test("namespace selectors, autoAssign, a named pool, CIDRs, other classes, and Services that stop being LoadBalancers")
    func poolsAndClasses() {
        let pools = [
            Self.pool("a-manual", ["100.72.201.0/30"], autoAssign: false),
            Self.pool("b-team", ["100.72.202.10"], namespaces: ["team": "blue"]),
        ]
        let labels = ["blue": ["team": "blue"], "red": ["team": "red"]]
        let plan = LoadBalancerPlanner.plan(pools: pools, services: [
            Self.service("auto", namespace: "blue"),
            Self.service("nothing", namespace: "red"),
            Self.service("named", namespace: "red", pool: "a-manual"),
            Self.service("theirs", namespace: "red", loadBalancerClass: "example.com/other"),
            Self.service("was", namespace: "red", type: "NodePort", current: "100.72.201.2"),
        ], namespaceLabels: labels)
        #expect(plan.addresses["blue/auto"] == .some("100.72.202.10"))
        #expect(plan.problems["red/nothing"] == "no LoadBalancerPool that assigns addresses automatically serves namespace red")
        // A /30 keeps its network and broadcast addresses out: .1 is the first.
        #expect(plan.addresses["red/named"] == .some("100.72.201.1"))
        #expect(plan.addresses["red/theirs"] == nil)
        #expect(plan.addresses["red/was"] == .some(nil))
        #expect(LoadBalancerPool.parseRange("100.72.201.0/30") == IPv4.parse("100.72.201.1")!...IPv4.parse("100.72.201.2")!)
        #expect(LoadBalancerPool.parseRange("100.72.201.1/30") == nil, "host bits set")
    }

    @Test("validation: bad entries, overlaps and size are 422 material")
    func validation() {
        let bad = LoadBalancerPool.validate(Self.pool("x", ["100.72.200.1-100.72.200.0", "100.72.200.0/24", "100.72.200.5", "nope"]), old: nil)
        let text = bad.causes.map { "\($0.field ?? "") \($0.message ?? "")" }.joined(separator: "\n")
        #expect(text.contains("spec.addresses[0]"), "\(text)")
        #expect(text.contains("spec.addresses[2]") && text.contains("overlaps spec.addresses[1]"), "\(text)")
        #expect(text.contains("spec.addresses[3]"), "\(text)")
        #expect(LoadBalancerPool.validate(Self.pool("big", ["100.64.0.0/8"]), old: nil).isEmpty == false)
        #expect(LoadBalancerPool.validate(Self.pool("ok", ["100.72.200.100-100.72.200.110", "100.72.201.0/28"]), old: nil).isEmpty)
    }
}
