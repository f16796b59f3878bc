import BerthCore
import BerthNetwork
import BerthTestSupport
import Testing

@Suite("trace paths", .blockingAllowed)
struct PathTraceTests {
    static let hosts = [
        "h1": PathTrace.Host(name: "h1", address: "100.72.1.1", podSubnet: "100.96.0.0/24", mode: "vxlan"),
        "h2": PathTrace.Host(name: "h2", address: "100.72.1.2", podSubnet: "100.96.1.0/24", mode: "vxlan"),
    ]
    static let a = PathTrace.Endpoint(pod: PolicyPod(namespace: "x", name: "a", ip: IPv4.parse("100.96.0.2")!, labels: ["pod": "a"], ports: []), node: "h1")
    static let b = PathTrace.Endpoint(pod: PolicyPod(namespace: "y", name: "b", ip: IPv4.parse("100.96.1.2")!, labels: ["pod": "b"], ports: []), node: "h2")

    @Test("hops across hosts, then the policy rule that drops or allows, and tenants first")
    func verdicts() throws {
        let object: JSONValue = [
            "metadata": ["name": "only-a", "namespace": "y"],
            "spec": ["podSelector": [:], "ingress": [["from": [["namespaceSelector": [:], "podSelector": ["matchLabels": ["pod": "a"]]]], "ports": [["port": 80]]]]],
        ]
        var policy = try object.decode(NetworkPolicy.self)
        NetworkPolicy.applyDefaults(&policy)
        let compiled = PolicyCompiler.compile(policies: [policy], pods: [Self.a.pod, Self.b.pod], namespaces: [])
        let allowed = PathTrace(source: Self.a, destination: Self.b, port: 80, service: nil, hosts: Self.hosts, compilation: compiled, namespaces: [:])
        #expect(allowed.dropped == nil)
        #expect(allowed.hops.contains { $0.hasPrefix("VXLAN from node h1") })
        #expect(allowed.hops.last == "ingress of y/b allowed by y/only-a ingress rule 0")
        let blocked = PathTrace(source: Self.a, destination: Self.b, port: 81, service: nil, hosts: Self.hosts, compilation: compiled, namespaces: [:])
        #expect(blocked.dropped?.contains("isolated by y/only-a and no rule allows tcp/81 from 100.96.0.2") == true)
        let tenants = ["x": PolicyNamespace(name: "x", labels: [:], tenant: "red"), "y": PolicyNamespace(name: "y", labels: [:], tenant: "blue")]
        let isolated = PathTrace(source: Self.a, destination: Self.b, port: 80, service: nil, hosts: Self.hosts, compilation: compiled, namespaces: tenants)
        #expect(isolated.dropped?.hasPrefix("tenant isolation on node h1: namespace x is tenant \"red\", namespace y is tenant \"blue\"") == true)
    }
}
