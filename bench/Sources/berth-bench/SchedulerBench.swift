import BerthCore
import BerthScheduler
import Foundation

/// Scheduler alone (issue 4): decisions per second over a snapshot of N nodes (3 zones, labels,
/// one tainted node in 20), placing P pods of 50 ReplicaSets with cpu/memory requests, each
/// decision counted on its node before the next one, as the scheduler service does. No API,
/// no network: this is the algorithm's own speed.
struct SchedulerBench {
    let nodes: Int
    let pods: Int

    func run() throws -> JSONValue {
        var nodeList: [Node] = []
        for index in 0..<nodes {
            var taints: [JSONValue] = []
            if index % 20 == 0 { taints.append(["key": "dedicated", "value": "gpu", "effect": "NoSchedule"]) }
            let json: JSONValue = [
                "metadata": ["name": .string("node-\(index)"), "labels": [
                    "kubernetes.io/hostname": .string("node-\(index)"), "topology.kubernetes.io/zone": .string("zone-\(index % 3)"),
                    "disk": .string(index % 2 == 0 ? "ssd" : "hdd"),
                ]],
                "spec": ["taints": .array(taints)],
                "status": ["allocatable": ["cpu": "32", "memory": "128Gi", "pods": "110"], "conditions": [["type": "Ready", "status": "True"]]],
            ]
            nodeList.append(try json.decode(Node.self))
        }
        var snapshot = SchedulingSnapshot(nodes: nodeList, pods: [])
        var podList: [Pod] = []
        for index in 0..<pods {
            let owner = "rs-\(index % 50)"
            let json: JSONValue = [
                "metadata": ["name": .string("pod-\(index)"), "namespace": "bench", "uid": .string("uid-\(index)"),
                             "labels": ["app": .string(owner)],
                             "ownerReferences": [["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": .string(owner), "uid": .string(owner), "controller": true]]],
                "spec": ["containers": [["name": "c", "image": "berth/busybox:latest", "resources": ["requests": ["cpu": "100m", "memory": "128Mi"]]]]],
            ]
            podList.append(try json.decode(Pod.self))
        }
        let scheduler = Scheduler()
        var generator = FastRandom()
        var start = 0
        var placed = 0
        let clock = ContinuousClock()
        let began = clock.now
        for pod in podList {
            let (result, evaluated) = scheduler.schedule(pod, in: snapshot, startIndex: start, using: &generator)
            start = (start + evaluated) % snapshot.count
            if case .placed(_, let index) = result {
                snapshot.assume(PodSummary(pod), on: index)
                placed += 1
            }
        }
        let elapsed = clock.now - began
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return [
            "bench": "scheduler", "nodes": .number(String(nodes)), "pods": .number(String(pods)), "placed": .number(String(placed)),
            "decisions_per_s": .number(String(format: "%.0f", Double(pods) / seconds)),
            "microseconds_per_decision": .number(String(format: "%.1f", seconds * 1e6 / Double(pods))),
            "nodes_examined_per_decision": .number(String(scheduler.feasibleNodesToFind(nodes))),
        ]
    }
}
