import BerthCore
import BerthTestSupport
import HTTPTypes
import Testing

/// IPPools are checked against the cluster pod CIDR, the other pools, the nodes' pod subnets
/// and the pods' addresses; pods learn their pool at create and cannot forge a fixed address.
@Suite("IPPool admission", .blockingAllowed)
struct IPPoolAdmissionTests {
    static let pools = "/apis/berth.dev/v1/ippools"

    static func pool(_ name: String, _ addresses: [String], namespace: String = "default", app: String = "web") -> JSONValue {
        ["apiVersion": "berth.dev/v1", "kind": "IPPool", "metadata": ["name": .string(name)],
         "spec": ["addresses": .array(addresses.map { .string($0) }), "namespace": .string(namespace), "podSelector": ["matchLabels": ["app": .string(app)]]]]
    }

    func expect422(_ result: (status: Int, json: JSONValue, headers: HTTPFields), field: String, containing text: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 422, "\(String(describing: result.json))", sourceLocation: sourceLocation)
        let causes = result.json.value(at: ["details", "causes"])?.arrayValue ?? []
        #expect(causes.contains { $0["field"]?.stringValue == field && ($0["message"]?.stringValue ?? "").contains(text) },
                "causes: \(causes)", sourceLocation: sourceLocation)
    }

    @Test("malformed, reversed, overlapping-within and oversized address lists are 422 naming the entry")
    func shape() async throws {
        try await APIHarness.run { _, client in
            expect422(try await client.send(.post, Self.pools, json: Self.pool("a", ["100.96.200.300"])), field: "spec.addresses[0]", containing: "IPv4 address")
            expect422(try await client.send(.post, Self.pools, json: Self.pool("a", ["100.96.200.20-100.96.200.10"])), field: "spec.addresses[0]", containing: "range")
            expect422(try await client.send(.post, Self.pools, json: Self.pool("a", ["100.96.200.10-100.96.200.20", "100.96.200.15"])),
                      field: "spec.addresses[1]", containing: "overlaps spec.addresses[0]")
            expect422(try await client.send(.post, Self.pools, json: Self.pool("a", ["100.96.0.0-100.97.0.1"])), field: "spec.addresses", containing: "at most")
            expect422(try await client.send(.post, Self.pools, json: Self.pool("a", [])), field: "spec.addresses", containing: "Required")
            let list = try await client.send(.get, Self.pools)
            #expect(list.json["items"]?.arrayValue?.isEmpty == true)
        }
    }

    @Test("concurrent creates and updates of overlapping pools: exactly one wins, the others are 422")
    func concurrentOverlap() async throws {
        try await APIHarness.run { _, client in
            for round in 0..<5 {
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for index in 0..<8 {
                        group.addTask { try await client.send(.post, Self.pools, json: Self.pool("race-\(round)-\(index)", ["100.96.\(210 + round).1-100.96.\(210 + round).50"])).status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == 201 }.count == 1, "round \(round): \(statuses.sorted())")
                #expect(statuses.filter { $0 == 422 }.count == 7, "round \(round): \(statuses.sorted())")
            }
            // Two pools, each moved onto the same fresh range at once: one move wins.
            #expect(try await client.send(.post, Self.pools, json: Self.pool("mover-a", ["100.96.220.1"])).status == 201)
            #expect(try await client.send(.post, Self.pools, json: Self.pool("mover-b", ["100.96.221.1"])).status == 201)
            let moves = try await withThrowingTaskGroup(of: Int.self) { group in
                for name in ["mover-a", "mover-b"] {
                    group.addTask {
                        try await client.send(.patch, Self.pools + "/\(name)", json: ["spec": ["addresses": ["100.96.222.1-100.96.222.9"]]],
                                              contentType: "application/merge-patch+json").status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(moves.sorted() == [200, 422], "\(moves)")
        }
    }

    @Test("a node's pod subnet may not hold pool addresses; a pool and a subnet claimed at once: one wins")
    func nodeSubnets() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.post, Self.pools, json: Self.pool("held", ["100.96.230.7"])).status == 201)
            let node: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "n-held"], "spec": ["podCIDR": "100.96.230.0/24"]]
            expect422(try await client.send(.post, "/api/v1/nodes", json: node), field: "spec.podCIDR", containing: "IPPool held")
            #expect(try await client.send(.post, "/api/v1/nodes", json: ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "n-free"]]).status == 201)
            expect422(try await client.send(.patch, "/api/v1/nodes/n-free", json: ["spec": ["podCIDR": "100.96.230.0/24"]], contentType: "application/merge-patch+json"),
                      field: "spec.podCIDR", containing: "IPPool held")
            for round in 0..<5 {
                let subnet = "100.96.\(231 + round).0/24"
                let name = "n-\(round)"
                #expect(try await client.send(.post, "/api/v1/nodes", json: ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name)]]).status == 201)
                let statuses = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                    group.addTask { ("pool", try await client.send(.post, Self.pools, json: Self.pool("p-\(round)", ["100.96.\(231 + round).9"])).status) }
                    group.addTask {
                        ("node", try await client.send(.patch, "/api/v1/nodes/\(name)", json: ["spec": ["podCIDR": .string(subnet)]], contentType: "application/merge-patch+json").status)
                    }
                    return try await group.reduce(into: [String: Int]()) { $0[$1.0] = $1.1 }
                }
                let poolWon = statuses["pool"] == 201, nodeWon = statuses["node"] == 200
                #expect(poolWon != nodeWon, "exactly one claim wins, round \(round): \(statuses)")
                #expect((poolWon ? statuses["node"] : statuses["pool"]) == 422, "the other is refused, round \(round): \(statuses)")
            }
        }
    }

    @Test("many nodes taking pod subnets at once do not conflict with each other (a joining fleet)")
    func manyNodeSubnetsAtOnce() async throws {
        try await APIHarness.run { _, client in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<64 {
                    group.addTask {
                        let node: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string("fleet-\(index)")],
                                               "spec": ["podCIDR": .string("100.96.\(100 + index).0/24")]]
                        return try await client.send(.post, "/api/v1/nodes", json: node).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 201 }, "\(statuses.sorted())")
        }
    }

    @Test("outside the cluster CIDR, overlapping another pool, inside a node's subnet or a pod's address: 422, nothing stored")
    func taken() async throws {
        try await APIHarness.run { _, client in
            expect422(try await client.send(.post, Self.pools, json: Self.pool("out", ["192.0.2.10"])), field: "spec.addresses[0]", containing: "cluster pod CIDR")
            #expect(try await client.send(.post, Self.pools, json: Self.pool("first", ["100.96.200.10-100.96.200.20"])).status == 201)
            expect422(try await client.send(.post, Self.pools, json: Self.pool("second", ["100.96.200.5-100.96.200.10"])), field: "spec.addresses[0]", containing: "overlaps IPPool first")
            let node: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "n1"], "spec": ["podCIDR": "100.96.7.0/24"]]
            #expect(try await client.send(.post, "/api/v1/nodes", json: node).status == 201)
            expect422(try await client.send(.post, Self.pools, json: Self.pool("second", ["100.96.7.9"])), field: "spec.addresses[0]", containing: "pod subnet 100.96.7.0/24 of node n1")
            #expect(try await client.send(.post, "/api/v1/namespaces/default/pods", json: Fixtures.pod("holder", labels: ["app": "db"])).status == 201)
            let status: JSONValue = ["status": ["phase": "Running", "podIP": "100.96.201.4"]]
            #expect(try await client.send(.patch, "/api/v1/namespaces/default/pods/holder/status", json: status, contentType: "application/merge-patch+json").status == 200)
            expect422(try await client.send(.post, Self.pools, json: Self.pool("second", ["100.96.201.0-100.96.201.9"])), field: "spec.addresses[0]", containing: "pod default/holder")
            let list = try await client.send(.get, Self.pools)
            #expect(list.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } == ["first"])
        }
    }

    @Test("a new pod is labelled with its pool; a forged address is dropped at create and refused on update; allocated addresses cannot be removed")
    func membershipAndForgery() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.post, Self.pools, json: Self.pool("web", ["100.96.200.10-100.96.200.11"])).status == 201)
            var pod = Fixtures.pod("web-1", labels: ["app": "web"])
            pod.set(["berth.dev/ip": "100.96.200.11"], at: ["metadata", "annotations"])
            let created = try await client.send(.post, "/api/v1/namespaces/default/pods", json: pod)
            #expect(created.status == 201)
            #expect(created.json.value(at: ["metadata", "labels", "berth.dev/ippool"])?.stringValue == "web")
            #expect(created.json.value(at: ["metadata", "annotations", "berth.dev/ip"]) == nil)
            let other = Fixtures.pod("db-1", labels: ["app": "db", "berth.dev/ippool": "web"])
            let plain = try await client.send(.post, "/api/v1/namespaces/default/pods", json: other)
            #expect(plain.json.value(at: ["metadata", "labels", "berth.dev/ippool"]) == nil)

            let forged: JSONValue = ["metadata": ["annotations": ["berth.dev/ip": "100.96.200.10"]]]
            let refused = try await client.send(.patch, "/api/v1/namespaces/default/pods/web-1", json: forged, contentType: "application/merge-patch+json")
            expect422(refused, field: "metadata.annotations[berth.dev/ip]", containing: "not allocated to this pod")
            let relabel: JSONValue = ["metadata": ["labels": ["berth.dev/ippool": "other"]]]
            let kept = try await client.send(.patch, "/api/v1/namespaces/default/pods/web-1", json: relabel, contentType: "application/merge-patch+json")
            #expect(kept.json.value(at: ["metadata", "labels", "berth.dev/ippool"])?.stringValue == "web")

            // What the pool controller does: record, then annotate.
            let allocation: JSONValue = ["status": ["allocations": ["100.96.200.10": "web-1"]]]
            #expect(try await client.send(.patch, "\(Self.pools)/web/status", json: allocation, contentType: "application/merge-patch+json").status == 200)
            let annotated = try await client.send(.patch, "/api/v1/namespaces/default/pods/web-1", json: forged, contentType: "application/merge-patch+json")
            #expect(annotated.status == 200)
            let shrink: JSONValue = ["spec": ["addresses": ["100.96.200.11"]]]
            expect422(try await client.send(.patch, "\(Self.pools)/web", json: shrink, contentType: "application/merge-patch+json"),
                      field: "spec.addresses", containing: "allocated to pod default/web-1")
        }
    }
}
