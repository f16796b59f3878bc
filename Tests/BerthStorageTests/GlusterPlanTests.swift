import BerthCore
import BerthStorage
import BerthTestSupport
import Foundation
import Testing

/// Who acts for GlusterFS volumes, the bricks a claim gets, and fencing: a node lost while its
/// pod used a ReadWriteOnce volume is fenced, stays fenced until it is Ready with a live pod of
/// the claim again, and another node mounts only once every other holder is fenced.
@Suite("GlusterFS plan", .blockingAllowed)
struct GlusterPlanTests {
    func node(_ name: String, address: String, ready: Bool = true, storage: Bool = true) throws -> Node {
        var metadata: JSONValue = ["name": .string(name)]
        if storage { metadata["labels"] = .object([GlusterPlan.storageLabel: "true"]) }
        return try JSONValue.object(["metadata": metadata, "status": ["addresses": [["type": "InternalIP", "address": .string(address)]],
                                                                     "conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]]).decode(Node.self)
    }

    func pod(_ name: String, node: String, deleting: Bool = false) throws -> Pod {
        var metadata: JSONValue = ["name": .string(name), "namespace": "default"]
        if deleting { metadata["deletionTimestamp"] = "2026-12-07T00:00:00Z" }
        return try JSONValue.object(["metadata": metadata, "spec": ["nodeName": .string(node), "containers": []]]).decode(Pod.self)
    }

    func volume(modes: [String] = ["ReadWriteOnce"], fenced: String? = nil) throws -> PersistentVolume {
        var metadata: JSONValue = ["name": "pvc-1"]
        if let fenced { metadata["annotations"] = .object([GlusterPlan.fencedAnnotation: .string(fenced)]) }
        return try JSONValue.object(["metadata": metadata, "spec": ["accessModes": .array(modes.map { .string($0) }), "glusterfs": ["endpoints": "a,b", "path": "pvc-1"]]])
            .decode(PersistentVolume.self)
    }

    @Test("the first Ready storage server acts; bricks name each server's node")
    func actorAndBricks() throws {
        let nodes = [try node("a", address: "100.72.1.1", ready: false), try node("b", address: "100.72.1.2"), try node("c", address: "100.72.1.3", storage: false)]
        #expect(GlusterPlan.actor(servers: ["100.72.1.1", "100.72.1.2"], nodes: nodes) == "b")
        #expect(GlusterPlan.actor(servers: ["c"], nodes: nodes) == nil, "an unlabelled node never acts")
        #expect(GlusterPlan.bricks(volume: "pvc-1", servers: ["a", "100.72.1.2"], nodes: nodes, brickDirectory: "/b")
            == ["100.72.1.1:/b/a/pvc-1", "100.72.1.2:/b/b/pvc-1"])
        #expect(GlusterPlan.bricks(volume: "pvc-1", servers: ["nowhere"], nodes: nodes, brickDirectory: "/b") == nil)
    }

    @Test("a lost holder is fenced; the replacement waits for it; it is let back only with a live pod again")
    func fencing() throws {
        let nodes = [try node("a", address: "100.72.1.1", ready: false), try node("b", address: "100.72.1.2")]
        let users = [try pod("old", node: "a", deleting: true), try pod("new", node: "b")]
        let open = try volume()
        #expect(GlusterPlan.fencing(open, users: users, nodes: nodes).fence == ["a"])
        #expect(GlusterPlan.unfencedHolder(open, users: users, node: "b") == "a", "b waits while a is not fenced")
        let fencedA = try volume(fenced: "a")
        #expect(GlusterPlan.unfencedHolder(fencedA, users: users, node: "b") == nil)
        #expect(GlusterPlan.fencing(fencedA, users: users, nodes: nodes).fence.isEmpty)
        // a is back, but its only pod is the terminating one: it stays fenced.
        let back = [try node("a", address: "100.72.1.1"), try node("b", address: "100.72.1.2")]
        #expect(GlusterPlan.fencing(fencedA, users: users, nodes: back).release.isEmpty)
        // A live pod of the claim is scheduled to a again: let it back.
        #expect(GlusterPlan.fencing(fencedA, users: [try pod("again", node: "a")], nodes: back).release == ["a"])
        // Shared volumes are never fenced.
        #expect(GlusterPlan.fencing(try volume(modes: ["ReadWriteMany"]), users: users, nodes: nodes).fence.isEmpty)
    }
}
