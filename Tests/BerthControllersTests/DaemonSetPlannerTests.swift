import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthControllers

@Suite("DaemonSet planning", .blockingAllowed)
struct DaemonSetPlannerTests {
    static func node(_ name: String, labels: [String: String] = [:], taints: [JSONValue] = [], unschedulable: Bool = false) -> Node {
        try! JSONValue.object([
            "metadata": ["name": .string(name), "labels": .object(labels.mapValues { .string($0) })],
            "spec": ["taints": .array(taints), "unschedulable": .bool(unschedulable)],
            "status": ["conditions": [["type": "Ready", "status": "True"]], "allocatable": ["cpu": "4", "memory": "8Gi", "pods": "110"]],
        ]).decode(Node.self)
    }

    static func daemonSet(image: String = "v1", nodeSelector: [String: String]? = nil, tolerations: [JSONValue] = [], maxUnavailable: Int = 1) -> DaemonSet {
        var spec: JSONValue = ["containers": [["name": "agent", "image": .string(image)]], "tolerations": .array(tolerations)]
        if let nodeSelector { spec["nodeSelector"] = .object(nodeSelector.mapValues { .string($0) }) }
        return try! JSONValue.object([
            "metadata": ["name": "logs", "namespace": "kube-system", "uid": "ds-uid", "generation": 1],
            "spec": ["selector": ["matchLabels": ["app": "logs"]], "template": ["metadata": ["labels": ["app": "logs"]], "spec": spec],
                     "updateStrategy": ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": .number(String(maxUnavailable))]]],
        ]).decode(DaemonSet.self)
    }

    /// A running, ready daemon pod for `daemonSet` on `node`.
    static func pod(_ daemonSet: DaemonSet, on node: String, ready: Bool = true) -> Pod {
        var pod = DaemonSetPlanner.newPod(daemonSet, node: node)
        pod.metadata.name = "logs-\(node)"
        pod.metadata.uid = "pod-\(node)-\(daemonSet.spec?.template.spec?.containers[0].image ?? "")"
        pod.spec?.nodeName = node
        pod.status = PodStatus(phase: "Running")
        if ready { pod.status?.conditions = [PodCondition(type: "Ready", status: "True")] }
        return pod
    }

    @Test("one pod per eligible node; node selector and taints decide eligibility; cordoned nodes keep daemons")
    func placement() {
        let nodes = [Self.node("a", labels: ["logs": "yes"]), Self.node("b", labels: ["logs": "yes"], unschedulable: true),
                     Self.node("gpu", labels: ["logs": "yes"], taints: [["key": "dedicated", "value": "gpu", "effect": "NoSchedule"]]),
                     Self.node("other")]
        let plan = DaemonSetPlanner.plan(Self.daemonSet(nodeSelector: ["logs": "yes"]), nodes: nodes, pods: [], now: Date())
        #expect(plan.createOn == ["a", "b"])
        #expect(plan.status.desiredNumberScheduled == 2)
        let tolerant = Self.daemonSet(nodeSelector: ["logs": "yes"], tolerations: [["key": "dedicated", "operator": "Exists"]])
        #expect(DaemonSetPlanner.plan(tolerant, nodes: nodes, pods: [], now: Date()).createOn == ["a", "b", "gpu"])
        let pod = DaemonSetPlanner.newPod(tolerant, node: "a")
        #expect(pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms.first?.matchFields?.first?.values == ["a"])
        #expect(pod.metadata.ownerReferences?.first?.kind == "DaemonSet")
    }

    @Test("pods on nodes that no longer qualify are removed; duplicates trimmed")
    func misscheduled() {
        let set = Self.daemonSet(nodeSelector: ["logs": "yes"])
        let nodes = [Self.node("a", labels: ["logs": "yes"]), Self.node("b")]
        var duplicate = Self.pod(set, on: "a")
        duplicate.metadata.uid = "dup"
        duplicate.metadata.creationTimestamp = "2030-01-01T00:00:00Z"
        let plan = DaemonSetPlanner.plan(set, nodes: nodes, pods: [Self.pod(set, on: "a"), duplicate, Self.pod(set, on: "b")], now: Date())
        #expect(Set(plan.delete.compactMap(\.metadata.uid)) == ["dup", "pod-b-v1"])
        #expect(plan.status.numberMisscheduled == 1)
        #expect(plan.createOn.isEmpty)
    }

    @Test("a template change replaces pods at most maxUnavailable at a time")
    func rollingUpdate() {
        let old = Self.daemonSet(image: "v1")
        let new = Self.daemonSet(image: "v2", maxUnavailable: 1)
        let nodes = ["a", "b", "c"].map { Self.node($0) }
        var pods = nodes.map { Self.pod(old, on: $0.metadata.name!) }
        var plan = DaemonSetPlanner.plan(new, nodes: nodes, pods: pods, now: Date())
        #expect(plan.delete.count == 1)
        #expect(plan.status.updatedNumberScheduled == nil)
        // The replaced node gets the new pod; while it is not ready nothing else goes.
        let replaced = plan.delete[0].spec!.nodeName!
        pods.removeAll { $0.metadata.uid == plan.delete[0].metadata.uid }
        plan = DaemonSetPlanner.plan(new, nodes: nodes, pods: pods, now: Date())
        #expect(plan.createOn == [replaced])
        #expect(plan.delete.isEmpty)
        pods.append(Self.pod(new, on: replaced, ready: false))
        plan = DaemonSetPlanner.plan(new, nodes: nodes, pods: pods, now: Date())
        #expect(plan.delete.isEmpty && plan.createOn.isEmpty)
        pods.removeLast()
        pods.append(Self.pod(new, on: replaced, ready: true))
        plan = DaemonSetPlanner.plan(new, nodes: nodes, pods: pods, now: Date())
        #expect(plan.delete.count == 1)
        #expect(plan.status.updatedNumberScheduled == 1)
        #expect(plan.status.numberReady == 3)
    }
}
