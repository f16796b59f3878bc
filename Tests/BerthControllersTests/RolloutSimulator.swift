import BerthCore
import Foundation
@testable import BerthControllers

/// A tiny in-memory cluster for driving the Deployment and ReplicaSet planners step by step
/// with a manual clock: it applies their plans as the API would, and makes pods Ready a fixed
/// time after they are created (or never).
struct RolloutSimulator {
    var deployment: Deployment
    var replicaSets: [ReplicaSet] = []
    var pods: [String: [Pod]] = [:]
    var now = Date(timeIntervalSince1970: 1_800_000_000)
    var readyAfter: TimeInterval? = 2
    var nextID = 0
    var generation: Int64 = 1

    init(replicas: Int32, strategy: JSONValue? = nil, minReadySeconds: Int32? = nil, historyLimit: Int32? = nil, image: String = "v1") {
        var spec: JSONValue = [
            "replicas": .number(String(replicas)),
            "selector": ["matchLabels": ["app": "web"]],
            "template": ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c", "image": .string(image)]]]],
        ]
        if let strategy { spec["strategy"] = strategy }
        if let minReadySeconds { spec["minReadySeconds"] = .number(String(minReadySeconds)) }
        if let historyLimit { spec["revisionHistoryLimit"] = .number(String(historyLimit)) }
        var deployment = try! JSONValue.object(["metadata": ["name": "web", "namespace": "default", "uid": "deploy-uid", "generation": 1], "spec": spec]).decode(Deployment.self)
        Deployment.applyDefaults(&deployment)
        self.deployment = deployment
    }

    mutating func setImage(_ image: String) {
        deployment.spec?.template.spec?.containers[0].image = image
        generation += 1
        deployment.metadata.generation = generation
    }

    var current: ReplicaSet? {
        replicaSets.first { DeploymentRevisions.sameTemplate($0, deployment.spec!.template) }
    }

    /// Counts over every ReplicaSet's live pods.
    var totalPods: Int { pods.values.reduce(0) { $0 + $1.filter(PodState.isActive).count } }
    var readyPods: Int { pods.values.reduce(0) { $0 + $1.filter { PodState.isActive($0) && PodState.isReady($0) }.count } }

    /// One round: the Deployment planner, then each ReplicaSet's planner, then time passes.
    mutating func step(seconds: TimeInterval = 1) {
        let plan = DeploymentPlanner.plan(deployment, replicaSets: replicaSets, now: now)
        if var created = plan.create {
            created.metadata.uid = "rs-\(nextID)"
            nextID += 1
            replicaSets.append(created)
        }
        for update in plan.update {
            if let index = replicaSets.firstIndex(where: { $0.metadata.uid == update.metadata.uid }) { replicaSets[index] = update }
        }
        for deleted in plan.delete { replicaSets.removeAll { $0.metadata.uid == deleted.metadata.uid } }
        if let revision = plan.revisionAnnotation { deployment.metadata.annotations = [DeploymentRevisions.revisionAnnotation: revision] }
        deployment.status = plan.status
        for index in replicaSets.indices { syncReplicaSet(index) }
        // The Deployment sees the ReplicaSets' new status on its next round, as through a watch.
        now = now.addingTimeInterval(seconds)
        makePodsReady()
        for index in replicaSets.indices { syncReplicaSet(index, changePods: false) }
    }

    mutating func syncReplicaSet(_ index: Int, changePods: Bool = true) {
        let replicaSet = replicaSets[index]
        let uid = replicaSet.metadata.uid!
        let plan = ReplicaSetPlanner.plan(replicaSet, pods: pods[uid] ?? [], now: now, mayChangePods: changePods)
        for _ in 0..<plan.podsToCreate {
            var pod = ReplicaSetPlanner.newPod(for: replicaSet)
            pod.metadata.name = "pod-\(nextID)"
            pod.metadata.uid = "pod-\(nextID)"
            pod.metadata.creationTimestamp = TableCells.formatTimestamp(now)
            nextID += 1
            pod.status = PodStatus(phase: "Running")
            pods[uid, default: []].append(pod)
        }
        let doomed = Set(plan.podsToDelete.compactMap(\.metadata.uid))
        pods[uid]?.removeAll { doomed.contains($0.metadata.uid ?? "") }
        replicaSets[index].status = changePods ? ReplicaSetPlanner.plan(replicaSets[index], pods: pods[uid] ?? [], now: now, mayChangePods: false).status : plan.status
    }

    mutating func makePodsReady() {
        guard let readyAfter else { return }
        for (uid, list) in pods {
            pods[uid] = list.map { pod in
                var pod = pod
                guard !PodState.isReady(pod), let created = TableCells.parseTimestamp(pod.metadata.creationTimestamp),
                      created.addingTimeInterval(readyAfter) <= now else { return pod }
                pod.status?.conditions = [PodCondition(type: "Ready", status: "True", lastTransitionTime: TableCells.formatTimestamp(now))]
                return pod
            }
        }
    }

    func condition(_ type: String) -> WorkloadCondition? { deployment.status?.conditions?.first { $0.type == type } }

    /// What `kubectl rollout status` would call finished.
    var rolledOut: Bool {
        let status = deployment.status
        let replicas = deployment.spec?.replicas ?? 1
        return status?.observedGeneration == deployment.metadata.generation && status?.updatedReplicas == replicas
            && status?.replicas == replicas && status?.availableReplicas == replicas
    }
}
