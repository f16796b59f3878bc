@testable import BerthAgent
import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("ingress status addresses", .blockingAllowed)
struct IngressStatusAddressTests {
    static func node(_ name: String, ingress: Bool, ready: Bool, address: String) -> JSONValue {
        ["metadata": ["name": .string(name), "labels": ingress ? ["berth.dev/ingress": "true"] : [:]],
         "status": ["addresses": [["type": "InternalIP", "address": .string(address)]],
                    "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False"), "lastHeartbeatTime": "2026-12-07T00:00:00Z"]]]]
    }

    @Test("every Ready ingress node's address, this node's always; a dead or unlabelled node drops out")
    func addresses() {
        let nodes = [Self.node("a", ingress: true, ready: true, address: "100.72.0.2"), Self.node("b", ingress: true, ready: false, address: "100.72.0.3"),
                     Self.node("c", ingress: false, ready: true, address: "100.72.0.4"), Self.node("d", ingress: true, ready: true, address: "100.72.0.1")]
        let kept = nodes.compactMap(IngressProxy.ingressNodeSummary)
        #expect(kept.count == 3, "the unlabelled node is not kept")
        #expect(IngressProxy.addresses(ingressNodes: kept, own: "100.72.0.3") == ["100.72.0.1", "100.72.0.2", "100.72.0.3"])
        #expect(IngressProxy.addresses(ingressNodes: kept, own: "100.72.0.2") == ["100.72.0.1", "100.72.0.2"])
        var beat = nodes[0]
        var conditions = beat.value(at: ["status", "conditions"])?.arrayValue ?? []
        conditions[0] = ["type": "Ready", "status": "True", "lastHeartbeatTime": "2026-12-07T00:00:10Z"]
        beat.set(.array(conditions), at: ["status", "conditions"])
        #expect(IngressProxy.ingressNodeSummary(beat) == IngressProxy.ingressNodeSummary(nodes[0]),
                "a heartbeat changes nothing kept")
    }
}
