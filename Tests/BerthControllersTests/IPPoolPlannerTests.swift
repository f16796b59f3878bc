import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthControllers

@Suite("IPPool planning", .blockingAllowed)
struct IPPoolPlannerTests {
    static func pool(_ addresses: [String], allocations: [String: String]? = nil) -> IPPool {
        IPPool(metadata: ObjectMeta(name: "web"), spec: IPPoolSpec(addresses: addresses, namespace: "default"),
               status: allocations.map { IPPoolStatus(allocations: $0) })
    }

    static func pod(_ name: String, created: String = "2026-11-23T10:00:00Z", ip: String? = nil, phase: String = "Pending", deleting: Bool = false) -> Pod {
        var metadata: JSONValue = ["name": .string(name), "namespace": "default", "creationTimestamp": .string(created), "labels": ["berth.dev/ippool": "web"]]
        if let ip { metadata["annotations"] = ["berth.dev/ip": .string(ip)] }
        if deleting { metadata["deletionTimestamp"] = "2026-11-23T10:05:00Z" }
        return try! JSONValue.object(["metadata": metadata, "spec": ["containers": [["name": "c", "image": "i"]]], "status": ["phase": .string(phase)]]).decode(Pod.self)
    }

    @Test("new pods take the lowest free addresses, oldest first; one pod never holds two")
    func lowestFirst() {
        let plan = IPPoolPlanner.plan(pool: Self.pool(["100.96.200.12", "100.96.200.10-100.96.200.11"]),
                                      pods: [Self.pod("b", created: "2026-11-23T10:00:02Z"), Self.pod("a", created: "2026-11-23T10:00:01Z")])
        #expect(plan.allocations == ["100.96.200.10": "a", "100.96.200.11": "b"])
        #expect(plan.annotate == ["a": "100.96.200.10", "b": "100.96.200.11"])
        #expect(plan.waiting.isEmpty)
    }

    @Test("a held address stays with its pod, also while it terminates; a finished or gone pod gives it back to the next pod")
    func keepAndRelease() {
        let pool = Self.pool(["100.96.200.10-100.96.200.11"], allocations: ["100.96.200.10": "old", "100.96.200.11": "done"])
        let plan = IPPoolPlanner.plan(pool: pool, pods: [Self.pod("old", ip: "100.96.200.10", phase: "Running", deleting: true),
                                                         Self.pod("done", ip: "100.96.200.11", phase: "Succeeded"), Self.pod("new")])
        #expect(plan.allocations == ["100.96.200.10": "old", "100.96.200.11": "new"])
        #expect(plan.annotate == ["new": "100.96.200.11"])
        // The old pod is gone: its replacement gets its address.
        let later = IPPoolPlanner.plan(pool: Self.pool(["100.96.200.10-100.96.200.11"], allocations: plan.allocations),
                                       pods: [Self.pod("new", ip: "100.96.200.11"), Self.pod("replacement")])
        #expect(later.allocations == ["100.96.200.10": "replacement", "100.96.200.11": "new"])
    }

    @Test("an exhausted pool leaves pods waiting; a terminating pod is not given an address")
    func exhausted() {
        let plan = IPPoolPlanner.plan(pool: Self.pool(["100.96.200.10"]),
                                      pods: [Self.pod("a"), Self.pod("b", created: "2026-11-23T10:00:05Z"), Self.pod("c", deleting: true)])
        #expect(plan.allocations == ["100.96.200.10": "a"])
        #expect(plan.waiting == ["b"])
    }

    @Test("an address a pod shows but the status lost is given back to it, when free and in the pool")
    func recoverLostStatus() {
        let plan = IPPoolPlanner.plan(pool: Self.pool(["100.96.200.10-100.96.200.12"]),
                                      pods: [Self.pod("a"), Self.pod("b", created: "2026-11-23T10:00:05Z", ip: "100.96.200.12", phase: "Running"),
                                             Self.pod("x", ip: "100.96.250.1", phase: "Running")])
        #expect(plan.allocations["100.96.200.12"] == "b")
        #expect(plan.allocations["100.96.200.10"] == "a")
        #expect(plan.allocations["100.96.200.11"] == "x")
        #expect(plan.annotate == ["a": "100.96.200.10", "x": "100.96.200.11"])
    }

    @Test("a removed address is dropped from the allocations")
    func shrunk() {
        let plan = IPPoolPlanner.plan(pool: Self.pool(["100.96.200.11"], allocations: ["100.96.200.10": "a"]), pods: [Self.pod("a", ip: "100.96.200.10")])
        #expect(plan.allocations == ["100.96.200.11": "a"])
        #expect(plan.annotate == ["a": "100.96.200.11"])
    }

    @Test("node subnets are never carved from a pool's addresses")
    func nodeSubnetsAvoidPools() {
        let ranges = IPPool(metadata: ObjectMeta(name: "p"), spec: IPPoolSpec(addresses: ["100.96.1.250-100.96.3.4"], namespace: "d")).spec?.ranges ?? []
        #expect(Set(NodeIPAMController.subnets(covering: ranges).map(\.description)) == ["100.96.1.0/24", "100.96.2.0/24", "100.96.3.0/24"])
    }
}
