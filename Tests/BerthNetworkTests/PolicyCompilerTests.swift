import BerthCore
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

@Suite("network policy compiler", .blockingAllowed)
struct PolicyCompilerTests {
    static func pod(_ namespace: String, _ name: String, _ ip: String, _ labels: [String: String], ports: [PolicyPod.NamedPort] = []) -> PolicyPod {
        PolicyPod(namespace: namespace, name: name, ip: IPv4.parse(ip)!, labels: labels, ports: ports)
    }

    static func policy(_ yaml: JSONValue) throws -> NetworkPolicy {
        var policy = try yaml.decode(NetworkPolicy.self)
        NetworkPolicy.applyDefaults(&policy)
        return policy
    }

    static let pods = [
        pod("a", "web", "100.96.0.2", ["app": "web"], ports: [.init(name: "http", port: 8080, proto: "TCP")]),
        pod("a", "db", "100.96.0.3", ["app": "db"]),
        pod("b", "client", "100.96.1.2", ["app": "client"]),
    ]
    static let namespaces = [PolicyNamespace(name: "a", labels: ["team": "x"], tenant: nil), PolicyNamespace(name: "b", labels: ["team": "y"], tenant: "t1")]

    /// Whether traffic from `source` to `destination` on the port is allowed by the compilation.
    static func allows(_ compiled: PolicyCompilation, from source: String, to destination: String, port: UInt32, proto: UInt32 = 6) -> Bool {
        let src = IPv4.parse(source)!, dst = IPv4.parse(destination)!
        let egressOK = compiled.egressIsolated[src] == nil || compiled.egress.contains { $0.pod == src && $0.peer.contains(dst) && $0.proto.contains(proto) && $0.port.contains(port) }
        let ingressOK = compiled.ingressIsolated[dst] == nil || compiled.ingress.contains { $0.pod == dst && $0.peer.contains(src) && $0.proto.contains(proto) && $0.port.contains(port) }
        return egressOK && ingressOK
    }

    @Test("selectors, namespaceSelector, named ports, ipBlock with except, default deny egress")
    func semantics() throws {
        let allowClientToWeb = try Self.policy([
            "metadata": ["name": "web", "namespace": "a"],
            "spec": ["podSelector": ["matchLabels": ["app": "web"]],
                     "ingress": [["from": [["namespaceSelector": ["matchLabels": ["team": "y"]]]], "ports": [["port": "http"]]]]],
        ])
        let dbFromBlock = try Self.policy([
            "metadata": ["name": "db", "namespace": "a"],
            "spec": ["podSelector": ["matchLabels": ["app": "db"]],
                     "ingress": [["from": [["ipBlock": ["cidr": "100.96.0.0/16", "except": ["100.96.1.0/24"]]]]]]],
        ])
        let denyEgress = try Self.policy(["metadata": ["name": "deny", "namespace": "b"], "spec": ["podSelector": [:], "policyTypes": ["Egress"]]])
        var compiled = PolicyCompiler.compile(policies: [allowClientToWeb, dbFromBlock], pods: Self.pods, namespaces: Self.namespaces)
        #expect(Self.allows(compiled, from: "100.96.1.2", to: "100.96.0.2", port: 8080))
        #expect(!Self.allows(compiled, from: "100.96.1.2", to: "100.96.0.2", port: 80))
        #expect(!Self.allows(compiled, from: "100.96.0.3", to: "100.96.0.2", port: 8080))
        #expect(Self.allows(compiled, from: "100.96.0.2", to: "100.96.0.3", port: 5432))
        #expect(!Self.allows(compiled, from: "100.96.1.2", to: "100.96.0.3", port: 5432))
        #expect(compiled.tenants["t1"] == [IPv4.parse("100.96.1.2")!])
        compiled = PolicyCompiler.compile(policies: [allowClientToWeb, denyEgress], pods: Self.pods, namespaces: Self.namespaces)
        #expect(!Self.allows(compiled, from: "100.96.1.2", to: "100.96.0.2", port: 8080))
        #expect(compiled.egressIsolated[IPv4.parse("100.96.1.2")!] == ["b/deny"])
    }

    @Test("disjoint elements cover exactly the union of the boxes (random boxes, sampled points)")
    func disjointIsExact() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<30 {
            var boxes: [PolicyBox] = []
            for _ in 0..<Int.random(in: 1...12, using: &generator) {
                func span(_ limit: UInt32) -> Span {
                    let a = UInt32.random(in: 0...limit, using: &generator), b = UInt32.random(in: 0...limit, using: &generator)
                    return Span(min(a, b), max(a, b))
                }
                boxes.append(PolicyBox(pod: UInt32.random(in: 1...2, using: &generator), peer: span(40), proto: span(8), port: span(30), source: "r"))
            }
            let cells = PolicyCompiler.disjoint(boxes)
            for pod in UInt32(1)...2 {
                for peer in UInt32(0)...40 {
                    for proto in UInt32(0)...8 {
                        for port in stride(from: UInt32(0), through: 30, by: 3) {
                            let inBoxes = boxes.contains { $0.pod == pod && $0.peer.contains(peer) && $0.proto.contains(proto) && $0.port.contains(port) }
                            let hits = cells.filter { $0.pod == pod && $0.peer.contains(peer) && $0.proto.contains(proto) && $0.port.contains(port) }.count
                            #expect(hits == (inBoxes ? 1 : 0))
                            if hits != (inBoxes ? 1 : 0) { return }
                        }
                    }
                }
            }
        }
    }

    @Test("nft accepts the rendered policy table, overlapping rules included",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")))
    func nftAccepts() throws {
        let overlapping = try Self.policy([
            "metadata": ["name": "both", "namespace": "a"],
            "spec": ["podSelector": [:],
                     "ingress": [["ports": [["port": 80]]], ["from": [["podSelector": [:]]]], ["from": [["ipBlock": ["cidr": "0.0.0.0/0"]]], "ports": [["port": 70, "endPort": 90]]]],
                     "egress": [["to": [["namespaceSelector": [:]]]]]],
        ])
        let compiled = PolicyCompiler.compile(policies: [overlapping], pods: Self.pods, namespaces: Self.namespaces)
        let refusal = try nftRefusal(PolicyRules.render(compiled, table: "berth-pol-test"))
        #expect(refusal == nil, "nft refused the rules: \(refusal ?? "")")
    }

    @Test("a pod read from its JSON is the same as from the decoded Pod; no address or host network → none")
    func policyPodFromJSON() throws {
        var object: JSONValue = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": "web", "namespace": "a", "labels": ["app": "web", "tier": "front"]],
            "spec": ["nodeName": "h1", "containers": [
                ["name": "c", "image": "x", "ports": [["name": "http", "containerPort": 8080], ["containerPort": 9090], ["name": "dns", "containerPort": 53, "protocol": "UDP"]]],
                ["name": "d", "image": "x"],
            ]],
            "status": ["podIP": "100.96.0.9"],
        ]
        let fromJSON = try #require(PolicyPod(object: object))
        #expect(fromJSON == PolicyPod(try object.decode(Pod.self)))
        #expect(fromJSON.ports == [.init(name: "http", port: 8080, proto: "TCP"), .init(name: "dns", port: 53, proto: "UDP")])
        object["spec"]?["hostNetwork"] = true
        #expect(PolicyPod(object: object) == nil)
        object["spec"]?["hostNetwork"] = false
        object["status"] = [:]
        #expect(PolicyPod(object: object) == nil)
    }
}
