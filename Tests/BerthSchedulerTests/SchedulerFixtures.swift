import BerthCore
@testable import BerthScheduler

/// Hand-built nodes and pods for scheduler tests, written as the JSON a user would apply.
enum Fixture {
    static func node(_ name: String, cpu: String = "4", memory: String = "8Gi", pods: Int = 110, labels: [String: String] = [:],
                     taints: [JSONValue] = [], unschedulable: Bool = false, ready: Bool = true, extra: [String: String] = [:],
                     images: [String] = []) -> Node {
        var allocatable: JSONValue = ["cpu": .string(cpu), "memory": .string(memory), "pods": .string(String(pods))]
        for (key, value) in extra { allocatable[key] = .string(value) }
        let json: JSONValue = [
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": ["taints": .array(taints), "unschedulable": .bool(unschedulable)],
            "status": [
                "allocatable": allocatable,
                "conditions": [["type": "Ready", "status": .string(ready ? "True" : "False")]],
                "images": .array(images.map { ["names": [.string($0)]] }),
            ],
        ]
        return try! json.decode(Node.self)
    }

    static func taint(_ key: String, _ value: String = "", effect: String = "NoSchedule") -> JSONValue {
        ["key": .string(key), "value": .string(value), "effect": .string(effect)]
    }

    static func pod(_ name: String, namespace: String = "default", cpu: String? = nil, memory: String? = nil, node: String? = nil,
                    labels: [String: String] = [:], owner: String? = nil, spec extra: [String: JSONValue] = [:],
                    hostPort: Int? = nil, image: String = "berth/busybox:latest", other: [String: String] = [:]) -> Pod {
        var requests: JSONValue = [:]
        if let cpu { requests["cpu"] = .string(cpu) }
        if let memory { requests["memory"] = .string(memory) }
        for (key, value) in other { requests[key] = .string(value) }
        var container: JSONValue = ["name": "c", "image": .string(image), "resources": ["requests": requests]]
        if let hostPort { container["ports"] = [["containerPort": 80, "hostPort": .number(String(hostPort)), "protocol": "TCP"]] }
        var spec: JSONValue = ["containers": [container]]
        if let node { spec["nodeName"] = .string(node) }
        for (key, value) in extra { spec[key] = value }
        var metadata: JSONValue = ["name": .string(name), "namespace": .string(namespace), "uid": .string("uid-\(namespace)-\(name)"),
                                   "labels": .object(labels.mapValues { .string($0) })]
        if let owner {
            metadata["ownerReferences"] = [["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": .string(owner), "uid": .string(owner), "controller": true]]
        }
        return try! JSONValue.object(["metadata": metadata, "spec": spec]).decode(Pod.self)
    }

    static func schedule(_ pod: Pod, _ snapshot: SchedulingSnapshot, seed: UInt64 = 1) -> SchedulingResult {
        var generator = FastRandom(seed: seed)
        return Scheduler().schedule(pod, in: snapshot, using: &generator).result
    }

    static func placedNode(_ result: SchedulingResult) -> String? {
        if case .placed(let name, _) = result { return name }
        return nil
    }

    static func message(_ result: SchedulingResult) -> String? {
        if case .unschedulable(let message, _) = result { return message }
        return nil
    }
}
