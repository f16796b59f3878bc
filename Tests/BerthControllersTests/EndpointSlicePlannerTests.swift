import BerthControllers
import BerthCore
import BerthTestSupport
import Testing

@Suite("EndpointSlice planner", .blockingAllowed)
struct EndpointSlicePlannerTests {
    static func service(_ name: String) -> Service {
        var service = try! JSONParser.parse(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop","uid":"s-1","labels":{"app":"web"}},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}"#).decode(Service.self)
        service.metadata.name = name
        return service
    }

    static func address(_ ip: String) -> JSONValue {
        ["ip": .string(ip), "nodeName": "node-1", "targetRef": ["kind": "Pod", "namespace": "shop", "name": .string("p-\(ip)")]]
    }

    static func endpoints(_ subsets: JSONValue) -> Endpoints {
        let object: JSONValue = ["apiVersion": "v1", "kind": "Endpoints", "metadata": ["name": "web", "namespace": "shop"], "subsets": subsets]
        return try! object.decode(Endpoints.self)
    }

    @Test("ready and not-ready addresses with conditions, one slice per port set, labels, owner, stable names")
    func slicesFromEndpoints() throws {
        let endpoints = Self.endpoints([
            ["addresses": [Self.address("100.96.0.3"), Self.address("100.96.0.2")], "notReadyAddresses": [Self.address("100.96.0.4")],
             "ports": [["name": "http", "port": 8080, "protocol": "TCP"]]],
            ["addresses": [Self.address("100.96.1.2")], "ports": [["name": "metrics", "port": 9090, "protocol": "TCP"]]],
        ])
        let slices = EndpointSlicePlanner.slices(for: endpoints, service: Self.service("web"))
        #expect(slices.count == 2)
        let http = try #require(slices.first { $0.ports?.first?.port == 8080 })
        #expect(http.endpoints?.map(\.addresses) == [["100.96.0.2"], ["100.96.0.3"], ["100.96.0.4"]])
        #expect(http.endpoints?.map { $0.conditions?.ready } == [true, true, false])
        #expect(http.endpoints?.first?.nodeName == "node-1" && http.endpoints?.first?.targetRef?.name == "p-100.96.0.2")
        #expect(http.metadata.labels == ["app": "web", "kubernetes.io/service-name": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"])
        #expect(http.metadata.ownerReferences?.first?.kind == "Service" && http.metadata.ownerReferences?.first?.uid == "s-1")
        #expect(http.metadata.name?.hasPrefix("web-") == true && http.addressType == "IPv4")
        // The same input names the same slices (a replan updates, never duplicates).
        #expect(EndpointSlicePlanner.slices(for: endpoints, service: Self.service("web")).map(\.metadata.name) == slices.map(\.metadata.name))
    }

    @Test("no endpoints: one empty slice; 250 endpoints: slices of at most 100")
    func emptyAndLarge() {
        let empty = EndpointSlicePlanner.slices(for: nil, service: Self.service("web"))
        #expect(empty.count == 1 && (empty[0].endpoints ?? []).isEmpty && empty[0].ports == nil)
        let many = (0..<250).map { Self.address("100.96.\($0 / 200).\($0 % 200 + 2)") }
        let endpoints = Self.endpoints([["addresses": .array(many), "ports": [["port": 80]]]])
        let slices = EndpointSlicePlanner.slices(for: endpoints, service: Self.service("web"))
        #expect(slices.map { $0.endpoints?.count ?? 0 } == [100, 100, 50])
        #expect(Set(slices.map(\.metadata.name)).count == 3)
    }
}
