import BerthCore
import BerthScheduler
import Foundation

/// What a DaemonSet needs: one pod on every node that accepts its template, none elsewhere,
/// and old-template pods replaced at most `maxUnavailable` at a time. Pure.
public struct DaemonSetPlan: Sendable, Equatable {
    /// Nodes that need a pod.
    public var createOn: [String] = []
    public var delete: [Pod] = []
    public var status: DaemonSetStatus
}

public enum DaemonSetPlanner {
    public static let hashLabel = "controller-revision-hash"

    /// Tolerations every daemon pod gets, as in Kubernetes: daemons keep running on nodes that
    /// are cordoned, not ready or unreachable.
    static let defaultTolerations: [JSONValue] = [
        ["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"],
        ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"],
        ["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"],
        ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"],
        ["key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"],
    ]

    public static func plan(_ daemonSet: DaemonSet, nodes: [Node], pods: [Pod], now: Date) -> DaemonSetPlan {
        let hash = templateHash(daemonSet)
        let minReady = daemonSet.spec?.minReadySeconds ?? 0
        let active = pods.filter(PodState.isActive)
        var byNode: [String: [Pod]] = [:]
        for pod in active { byNode[targetNode(pod) ?? "", default: []].append(pod) }
        let eligible = Set(nodes.filter { node in Scheduler.nodeAccepts(newPod(daemonSet, node: node.metadata.name ?? ""), node) }.compactMap(\.metadata.name))
        var plan = DaemonSetPlan(status: DaemonSetStatus(currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: Int32(eligible.count), numberReady: 0))
        var unavailable = 0
        var outdated: [Pod] = []
        for (node, list) in byNode {
            guard eligible.contains(node) else {
                plan.delete.append(contentsOf: list)
                plan.status.numberMisscheduled += Int32(list.count)
                continue
            }
            // Duplicates (a create raced a watch): keep the oldest.
            let sorted = list.sorted { ($0.metadata.creationTimestamp ?? "") < ($1.metadata.creationTimestamp ?? "") }
            plan.delete.append(contentsOf: sorted.dropFirst())
            let pod = sorted[0]
            plan.status.currentNumberScheduled += 1
            if PodState.isReady(pod) { plan.status.numberReady += 1 }
            if PodState.isAvailable(pod, minReadySeconds: minReady, now: now) {
                plan.status.numberAvailable = (plan.status.numberAvailable ?? 0) + 1
            } else {
                unavailable += 1
            }
            if pod.metadata.labels?[hashLabel] == hash {
                plan.status.updatedNumberScheduled = (plan.status.updatedNumberScheduled ?? 0) + 1
            } else {
                outdated.append(pod)
            }
        }
        for node in eligible.sorted() where byNode[node] == nil { plan.createOn.append(node); unavailable += 1 }
        // Rolling update: replace outdated pods while the unavailable budget allows, unready first.
        let budget = maxUnavailable(daemonSet, desired: eligible.count)
        let ordered = outdated.sorted { !PodState.isReady($0) && PodState.isReady($1) }
        var allowed = budget - unavailable
        for pod in ordered {
            if !PodState.isAvailable(pod, minReadySeconds: minReady, now: now) {
                plan.delete.append(pod)
            } else if allowed > 0 {
                plan.delete.append(pod)
                allowed -= 1
            }
        }
        plan.status.numberUnavailable = Int32(max(0, eligible.count - Int(plan.status.numberAvailable ?? 0)))
        plan.status.observedGeneration = daemonSet.metadata.generation
        return plan
    }

    static func maxUnavailable(_ daemonSet: DaemonSet, desired: Int) -> Int {
        guard daemonSet.spec?.updateStrategy?.type ?? "RollingUpdate" == "RollingUpdate" else { return 0 }
        let value = daemonSet.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? .int(1)
        return max(1, Int(DeploymentPlanner.resolve(value, of: Int32(desired), roundUp: false)))
    }

    public static func templateHash(_ daemonSet: DaemonSet) -> String {
        DeploymentRevisions.templateHash(daemonSet.spec?.template ?? PodTemplateSpec(), collisionCount: nil)
    }

    /// The node a daemon pod is meant for: its binding, or the node its affinity names.
    static func targetNode(_ pod: Pod) -> String? {
        if let node = pod.spec?.nodeName, !node.isEmpty { return node }
        let terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []
        return terms.first?.matchFields?.first { $0.key == "metadata.name" }?.values?.first
    }

    /// A daemon pod pinned to `node` through node affinity on `metadata.name`, so the scheduler
    /// still checks that it fits (as Kubernetes does since 1.12).
    public static func newPod(_ daemonSet: DaemonSet, node: String) -> Pod {
        let template = daemonSet.spec?.template
        var labels = template?.metadata?.labels ?? [:]
        labels[hashLabel] = templateHash(daemonSet)
        var metadata = ObjectMeta(namespace: daemonSet.metadata.namespace, labels: labels, annotations: template?.metadata?.annotations)
        metadata.generateName = (daemonSet.metadata.name ?? "daemonset") + "-"
        metadata.ownerReferences = [.controller(daemonSet, kind: "DaemonSet")]
        var spec = template?.spec ?? (try! JSONValue.object(["containers": []]).decode(PodSpec.self))
        let pin = try! JSONValue.object(["nodeSelectorTerms": [["matchFields": [["key": "metadata.name", "operator": "In", "values": [.string(node)]]]]]]).decode(NodeSelector.self)
        var affinity = spec.affinity ?? (try! JSONValue.object([:]).decode(Affinity.self))
        var nodeAffinity = affinity.nodeAffinity ?? (try! JSONValue.object([:]).decode(NodeAffinity.self))
        nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = pin
        affinity.nodeAffinity = nodeAffinity
        spec.affinity = affinity
        var tolerations = spec.tolerations ?? []
        for value in defaultTolerations { if let toleration = try? value.decode(Toleration.self), !tolerations.contains(toleration) { tolerations.append(toleration) } }
        spec.tolerations = tolerations
        return Pod(metadata: metadata, spec: spec)
    }
}
