import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthControllers

@Suite("Deployment rollouts, step by step with a manual clock", .blockingAllowed)
struct DeploymentRolloutTests {
    @Test("a first rollout creates one ReplicaSet, revision 1, and completes")
    func firstRollout() {
        var sim = RolloutSimulator(replicas: 3)
        for _ in 0..<10 where !sim.rolledOut { sim.step() }
        #expect(sim.rolledOut)
        #expect(sim.replicaSets.count == 1)
        #expect(sim.replicaSets[0].metadata.annotations?[DeploymentRevisions.revisionAnnotation] == "1")
        #expect(sim.replicaSets[0].metadata.name?.hasPrefix("web-") == true)
        #expect(sim.replicaSets[0].spec?.selector.matchLabels?[DeploymentRevisions.hashLabel] != nil)
        #expect(sim.condition("Available")?.status == "True")
        #expect(sim.condition("Progressing")?.reason == "NewReplicaSetAvailable")
        #expect(sim.deployment.metadata.annotations?[DeploymentRevisions.revisionAnnotation] == "1")
    }

    @Test("rolling update never exceeds replicas + maxSurge nor drops below replicas - maxUnavailable ready")
    func rollingUpdateBounds() {
        var sim = RolloutSimulator(replicas: 6, strategy: ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": 2, "maxUnavailable": 1]])
        for _ in 0..<20 where !sim.rolledOut { sim.step() }
        #expect(sim.rolledOut)
        sim.setImage("v2")
        var steps = 0
        var sawBothVersions = false
        while !sim.rolledOut && steps < 60 {
            sim.step()
            steps += 1
            #expect(sim.totalPods <= 8, "surge bound broken at step \(steps): \(sim.totalPods) pods")
            #expect(sim.readyPods >= 5, "availability bound broken at step \(steps): \(sim.readyPods) ready")
            if sim.replicaSets.filter({ ($0.status?.replicas ?? 0) > 0 }).count == 2 { sawBothVersions = true }
        }
        #expect(sim.rolledOut)
        #expect(sawBothVersions)
        #expect(steps > 2, "a rolling update takes several steps")
        let old = sim.replicaSets.first { $0.spec?.template?.spec?.containers[0].image == "v1" }
        #expect(old?.spec?.replicas == 0)
        #expect(sim.current?.metadata.annotations?[DeploymentRevisions.revisionAnnotation] == "2")
    }

    @Test("maxUnavailable 0 surges first and keeps every replica ready")
    func zeroUnavailable() {
        var sim = RolloutSimulator(replicas: 3, strategy: ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": 1, "maxUnavailable": 0]])
        for _ in 0..<10 where !sim.rolledOut { sim.step() }
        sim.setImage("v2")
        for _ in 0..<40 where !sim.rolledOut {
            sim.step()
            #expect(sim.readyPods >= 3)
            #expect(sim.totalPods <= 4)
        }
        #expect(sim.rolledOut)
    }

    @Test("rollback to an old template reuses its ReplicaSet under a new revision")
    func rollback() {
        var sim = RolloutSimulator(replicas: 2)
        for _ in 0..<10 where !sim.rolledOut { sim.step() }
        let first = sim.replicaSets[0].metadata.uid
        sim.setImage("v2")
        for _ in 0..<20 where !sim.rolledOut { sim.step() }
        sim.setImage("v1")
        for _ in 0..<20 where !sim.rolledOut { sim.step() }
        #expect(sim.rolledOut)
        #expect(sim.replicaSets.count == 2)
        #expect(sim.current?.metadata.uid == first)
        #expect(sim.current?.metadata.annotations?[DeploymentRevisions.revisionAnnotation] == "3")
        #expect(sim.deployment.metadata.annotations?[DeploymentRevisions.revisionAnnotation] == "3")
    }

    @Test("Recreate scales the old ReplicaSet to zero before the new one starts")
    func recreate() {
        var sim = RolloutSimulator(replicas: 3, strategy: ["type": "Recreate"])
        for _ in 0..<10 where !sim.rolledOut { sim.step() }
        sim.setImage("v2")
        var steps = 0
        while !sim.rolledOut && steps < 20 {
            sim.step()
            steps += 1
            let running = sim.replicaSets.filter { ($0.status?.replicas ?? 0) > 0 }
            #expect(running.count <= 1, "old and new pods overlap at step \(steps)")
        }
        #expect(sim.rolledOut)
    }

    @Test("revisionHistoryLimit deletes the oldest idle ReplicaSets")
    func historyLimit() {
        var sim = RolloutSimulator(replicas: 1, historyLimit: 1)
        for image in ["v1", "v2", "v3", "v4"] {
            sim.setImage(image)
            for _ in 0..<15 where !sim.rolledOut { sim.step() }
            sim.step()
        }
        #expect(sim.replicaSets.count == 2)
        #expect(Set(sim.replicaSets.compactMap { $0.spec?.template?.spec?.containers[0].image }) == ["v3", "v4"])
    }

    @Test("a paused Deployment does not roll out; resuming does")
    func paused() {
        var sim = RolloutSimulator(replicas: 2)
        for _ in 0..<10 where !sim.rolledOut { sim.step() }
        sim.deployment.spec?.paused = true
        sim.setImage("v2")
        for _ in 0..<5 { sim.step() }
        #expect(sim.replicaSets.count == 1)
        #expect(sim.condition("Progressing")?.reason == "DeploymentPaused")
        sim.deployment.spec?.paused = false
        for _ in 0..<20 where !sim.rolledOut { sim.step() }
        #expect(sim.rolledOut)
        #expect(sim.replicaSets.count == 2)
    }

    @Test("pods that never become ready exceed the progress deadline")
    func progressDeadline() {
        var sim = RolloutSimulator(replicas: 2)
        sim.deployment.spec?.progressDeadlineSeconds = 10
        sim.readyAfter = nil
        for _ in 0..<15 { sim.step() }
        #expect(sim.condition("Progressing")?.status == "False")
        #expect(sim.condition("Progressing")?.reason == "ProgressDeadlineExceeded")
        #expect(sim.condition("Available")?.status == "False")
    }

    @Test("minReadySeconds: ready pods count as available only after it")
    func minReady() {
        var sim = RolloutSimulator(replicas: 2, minReadySeconds: 5)
        sim.step(seconds: 3)
        #expect(sim.readyPods == 2)
        #expect((sim.deployment.status?.availableReplicas ?? 0) == 0)
        for _ in 0..<6 { sim.step() }
        #expect(sim.deployment.status?.availableReplicas == 2)
    }

    @Test("scaling down picks unscheduled, then not-ready, then newest pods")
    func scaleDownOrder() throws {
        func pod(_ name: String, node: String?, ready: Bool, created: String) -> Pod {
            var pod = Pod(metadata: ObjectMeta(name: name, namespace: "default"), spec: try! JSONValue.object(["containers": []]).decode(PodSpec.self))
            pod.metadata.uid = name
            pod.metadata.creationTimestamp = created
            pod.spec?.nodeName = node
            pod.status = PodStatus(phase: node == nil ? "Pending" : "Running")
            if ready { pod.status?.conditions = [PodCondition(type: "Ready", status: "True")] }
            return pod
        }
        let pods = [pod("old-ready", node: "n", ready: true, created: "2026-01-01T00:00:00Z"),
                    pod("new-ready", node: "n", ready: true, created: "2026-01-02T00:00:00Z"),
                    pod("not-ready", node: "n", ready: false, created: "2026-01-01T00:00:00Z"),
                    pod("pending", node: nil, ready: false, created: "2026-01-01T00:00:00Z")]
        var replicaSet = ReplicaSet(metadata: ObjectMeta(name: "rs", namespace: "default"), spec: ReplicaSetSpec(replicas: 1, selector: LabelSelectorSpec(), template: nil))
        replicaSet.metadata.uid = "rs"
        let plan = ReplicaSetPlanner.plan(replicaSet, pods: pods, now: Date())
        #expect(plan.podsToDelete.map { $0.metadata.name ?? "" } == ["pending", "not-ready", "new-ready"])
        #expect(ReplicaSetPlanner.plan(replicaSet, pods: pods, now: Date(), mayChangePods: false).podsToDelete.isEmpty)
    }

    @Test("maxSurge rounds up, maxUnavailable rounds down, never both zero")
    func surgeArithmetic() {
        #expect(DeploymentPlanner.surgeAndUnavailable(RollingUpdateParameters(maxUnavailable: .string("25%"), maxSurge: .string("25%")), desired: 10) == (3, 2))
        #expect(DeploymentPlanner.surgeAndUnavailable(RollingUpdateParameters(maxUnavailable: .int(0), maxSurge: .int(0)), desired: 4) == (0, 1))
        #expect(DeploymentPlanner.surgeAndUnavailable(RollingUpdateParameters(maxUnavailable: .string("100%"), maxSurge: .int(1)), desired: 3) == (1, 3))
    }
}
