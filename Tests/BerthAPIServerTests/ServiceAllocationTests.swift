import BerthCore
import BerthStore
import BerthTestSupport
import Testing

/// Cluster IPs and node ports are reserved by keys written with the Service: a value in use is
/// refused with a 422, a deleted Service frees its values, and start-up repairs the keys.
@Suite("Service address reservations", .blockingAllowed)
struct ServiceAllocationTests {
    static func service(_ name: String, clusterIP: String? = nil, nodePort: Int? = nil) -> JSONValue {
        var port: JSONValue = ["port": 80]
        if let nodePort { port["nodePort"] = .number(String(nodePort)) }
        var spec: JSONValue = ["type": .string(nodePort == nil ? "ClusterIP" : "NodePort"), "ports": [port], "selector": ["app": "x"]]
        if let clusterIP { spec["clusterIP"] = .string(clusterIP) }
        return ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name)], "spec": spec]
    }

    static let services = "/api/v1/namespaces/default/services"

    @Test("a taken cluster IP or node port is a 422 naming the field; deleting the holder frees it")
    func takenAndFreed() async throws {
        try await APIHarness.run { harness, client in
            #expect(try await client.send(.post, Self.services, json: Self.service("a", clusterIP: "100.64.0.10", nodePort: 30080)).status == 201)
            let sameIP = try await client.send(.post, Self.services, json: Self.service("b", clusterIP: "100.64.0.10"))
            #expect(sameIP.status == 422)
            #expect(sameIP.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"]?.stringValue == "spec.clusterIP")
            let samePort = try await client.send(.post, Self.services, json: Self.service("b", nodePort: 30080))
            #expect(samePort.status == 422)
            #expect(samePort.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"]?.stringValue == "spec.ports[0].nodePort")
            // Nothing of the refused Services was kept: no object, no reservation.
            #expect(try await client.send(.get, "\(Self.services)/b").status == 404)
            #expect(try await harness.store.list(prefix: "/registry/_allocations/").kvs.map(\.key).sorted()
                    == ["/registry/_allocations/cluster-ips/100.64.0.10", "/registry/_allocations/node-ports/30080"])
            #expect(try await client.send(.delete, "\(Self.services)/a").status == 200)
            #expect(try await harness.store.list(prefix: "/registry/_allocations/").kvs.isEmpty)
            #expect(try await client.send(.post, Self.services, json: Self.service("b", clusterIP: "100.64.0.10", nodePort: 30080)).status == 201)
            // Random picks reserve too, and never repeat.
            var addresses: Set<String> = ["100.64.0.10"]
            for index in 0..<50 {
                let created = try await client.send(.post, Self.services, json: Self.service("r\(index)", nodePort: 0))
                #expect(created.status == 201)
                addresses.insert(created.json.value(at: ["spec", "clusterIP"])?.stringValue ?? "")
            }
            #expect(addresses.count == 51)
            #expect(try await harness.store.list(prefix: "/registry/_allocations/cluster-ips/").kvs.count == 51)
            #expect(try await harness.store.list(prefix: "/registry/_allocations/node-ports/").kvs.count == 51)
        }
    }

    @Test("start-up writes missing reservations and drops orphans")
    func repair() async throws {
        try await APIHarness.run { harness, client in
            #expect(try await client.send(.post, Self.services, json: Self.service("a", clusterIP: "100.64.0.20")).status == 201)
            _ = try await harness.store.delete("/registry/_allocations/cluster-ips/100.64.0.20")
            _ = try await harness.store.put("/registry/_allocations/cluster-ips/100.64.0.99", Array("{}".utf8))
            try await harness.server.bootstrap()
            #expect(try await harness.store.list(prefix: "/registry/_allocations/").kvs.map(\.key) == ["/registry/_allocations/cluster-ips/100.64.0.20"])
            #expect(try await client.send(.post, Self.services, json: Self.service("b", clusterIP: "100.64.0.20")).status == 422)
        }
    }

    @Test("updates: ClusterIP → NodePort reserves drawn and requested ports, a taken one is a 422, back to ClusterIP frees them; the cluster IP stays and cannot change")
    func updates() async throws {
        try await APIHarness.run { harness, client in
            func keys(_ prefix: String) async throws -> [String] {
                try await harness.store.list(prefix: "/registry/_allocations/\(prefix)").kvs.map(\.key).sorted()
            }
            func patch(_ name: String, _ body: JSONValue) async throws -> (status: Int, json: JSONValue) {
                let reply = try await client.send(.patch, "\(Self.services)/\(name)", json: body, contentType: "application/merge-patch+json")
                return (Int(reply.status), reply.json)
            }
            #expect(try await client.send(.post, Self.services, json: Self.service("holder", nodePort: 30090)).status == 201)
            #expect(try await client.send(.post, Self.services, json: Self.service("web", clusterIP: "100.64.0.30")).status == 201)
            // Made a NodePort: a port is drawn and reserved with the update.
            let drawn = try await patch("web", ["spec": ["type": "NodePort"]])
            #expect(drawn.status == 200, "\(drawn.json)")
            let port = drawn.json.value(at: ["spec", "ports"])?.arrayValue?.first?["nodePort"]?.intValue ?? 0
            #expect((30000...32767).contains(port) && port != 30090)
            #expect(try await keys("node-ports/") == ["/registry/_allocations/node-ports/30090", "/registry/_allocations/node-ports/\(port)"].sorted())
            // An update that leaves the node port out keeps it (same port and protocol).
            let kept = try await patch("web", ["metadata": ["labels": ["x": "y"]], "spec": ["ports": [["port": 80]]]])
            #expect(kept.json.value(at: ["spec", "ports"])?.arrayValue?.first?["nodePort"]?.intValue == port)
            // Asking for a port another Service holds: 422 on the field, nothing changes.
            let taken = try await patch("web", ["spec": ["ports": [["port": 80, "nodePort": 30090]]]])
            #expect(taken.status == 422)
            #expect(taken.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"]?.stringValue == "spec.ports[0].nodePort")
            let unchanged = try await client.send(.get, "\(Self.services)/web").json
            #expect(unchanged.value(at: ["spec", "ports"])?.arrayValue?.first?["nodePort"]?.intValue == port)
            // Moving to a free requested port releases the old one in the same write.
            #expect(try await patch("web", ["spec": ["ports": [["port": 80, "nodePort": 31999]]]]).status == 200)
            #expect(try await keys("node-ports/") == ["/registry/_allocations/node-ports/30090", "/registry/_allocations/node-ports/31999"])
            // The cluster IP is immutable and kept when a PUT leaves it out.
            let moved = try await patch("web", ["spec": ["clusterIP": "100.64.0.31"]])
            #expect(moved.status == 422)
            #expect(moved.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"]?.stringValue == "spec.clusterIP")
            let put = try await client.send(.put, "\(Self.services)/web", json: Self.service("web"))
            #expect(put.status == 200, "\(put.json)")
            #expect(put.json.value(at: ["spec", "clusterIP"])?.stringValue == "100.64.0.30")
            // The PUT made it a ClusterIP Service again: its node port is gone and free.
            #expect(put.json.value(at: ["spec", "ports"])?.arrayValue?.first?["nodePort"] == nil)
            #expect(try await keys("node-ports/") == ["/registry/_allocations/node-ports/30090"])
            #expect(try await keys("cluster-ips/").contains("/registry/_allocations/cluster-ips/100.64.0.30"))
            #expect(try await client.send(.post, Self.services, json: Self.service("other", nodePort: 31999)).status == 201)
        }
    }
}
