import BerthCore
import BerthTestSupport
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("PodDisruptionBudgets and evictions", .blockingAllowed)
struct DisruptionBudgetTests {
    let pods = "/api/v1/namespaces/default/pods"
    let budgets = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"

    func startPod(_ client: some TestClientProtocol, _ name: String, ready: Bool) async throws {
        _ = try await client.send(.post, pods, json: Fixtures.pod(name, labels: ["app": "web"]))
        let status: JSONValue = ["status": ["phase": "Running", "conditions": [["type": "Ready", "status": ready ? "True" : "False"]]]]
        let written = try await client.send(.patch, pods + "/\(name)/status", json: status, contentType: "application/merge-patch+json")
        #expect(written.status == 200)
    }

    func evict(_ client: some TestClientProtocol, _ name: String) async throws -> (status: Int, json: JSONValue, headers: HTTPFields) {
        try await client.send(.post, pods + "/\(name)/eviction", json: ["apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": .string(name)]])
    }

    @Test func evictionsStopAtTheBudget() async throws {
        try await APIHarness.run { _, client in
            let budget: JSONValue = ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "web"],
                                     "spec": ["minAvailable": 2, "selector": ["matchLabels": ["app": "web"]]]]
            #expect(try await client.send(.post, budgets, json: budget).status == 201)
            for name in ["a", "b", "c"] { try await startPod(client, name, ready: true) }
            try await startPod(client, "unready", ready: false)

            #expect(try await evict(client, "a").status == 201)
            let recorded = try await client.send(.get, budgets + "/web")
            #expect(recorded.json.value(at: ["status", "disruptedPods", "a"]) != nil, "the eviction is recorded in the budget")

            // Two healthy pods left and two required: the next healthy pod stays.
            let refused = try await evict(client, "b")
            #expect(refused.status == 429)
            #expect(refused.json["message"] == "Cannot evict pod as it would violate the pod's disruption budget.")
            #expect(refused.json.value(at: ["details", "causes"])?.arrayValue?.first?["message"] == "The disruption budget web needs 2 healthy pods and has 2 currently")
            #expect(try await client.send(.get, pods + "/b").status == 200, "nothing deleted")

            // An unready pod keeps nothing available and may go while the budget is met.
            #expect(try await evict(client, "unready").status == 201)
        }
    }

    @Test("an eviction counts the ReplicaSet's scale: pods it has not made yet are unavailable ones")
    func evictionCountsControllerScale() async throws {
        try await APIHarness.run { _, client in
            let replicaSet: JSONValue = [
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": ["name": "web"],
                "spec": ["replicas": 4, "selector": ["matchLabels": ["app": "web"]],
                         "template": ["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "main", "image": "berth/busybox:latest"]]]]],
            ]
            let created = try await client.send(.post, "/apis/apps/v1/namespaces/default/replicasets", json: replicaSet)
            let uid = try #require(created.json.value(at: ["metadata", "uid"])?.stringValue)
            for name in ["a", "b", "c"] {
                var pod = Fixtures.pod(name, labels: ["app": "web"])
                pod.set([["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": .string(uid), "controller": true]], at: ["metadata", "ownerReferences"])
                #expect(try await client.send(.post, pods, json: pod).status == 201)
                let status: JSONValue = ["status": ["phase": "Running", "conditions": [["type": "Ready", "status": "True"]]]]
                _ = try await client.send(.patch, pods + "/\(name)/status", json: status, contentType: "application/merge-patch+json")
            }
            let budget: JSONValue = ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "web"],
                                     "spec": ["maxUnavailable": 1, "selector": ["matchLabels": ["app": "web"]]]]
            #expect(try await client.send(.post, budgets, json: budget).status == 201)
            // Four expected, one missing already: no eviction may follow.
            let refused = try await evict(client, "a")
            #expect(refused.status == 429)
            #expect(refused.json.value(at: ["details", "causes"])?.arrayValue?.first?["message"] == "The disruption budget web needs 3 healthy pods and has 3 currently")
            // Scaled down to three, the budget allows one.
            _ = try await client.send(.patch, "/apis/apps/v1/namespaces/default/replicasets/web", json: ["spec": ["replicas": 3]],
                                      contentType: "application/merge-patch+json")
            #expect(try await evict(client, "a").status == 201)
        }
    }

    @Test func invalidBudgetsAreRefused() async throws {
        try await APIHarness.run { _, client in
            let both: JSONValue = ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "both"],
                                   "spec": ["minAvailable": 1, "maxUnavailable": 1, "selector": ["matchLabels": ["app": "web"]]]]
            let bothReply = try await client.send(.post, budgets, json: both)
            #expect(bothReply.status == 422)
            #expect(bothReply.json["message"]?.stringValue?.contains("minAvailable and maxUnavailable cannot be both set") == true)
            let percent: JSONValue = ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "percent"],
                                      "spec": ["maxUnavailable": "150%", "selector": ["matchLabels": ["app": "web"]]]]
            let percentReply = try await client.send(.post, budgets, json: percent)
            #expect(percentReply.status == 422)
            #expect(percentReply.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"] == "spec.maxUnavailable")
        }
    }
}

@Suite("disruption budget arithmetic", .blockingAllowed)
struct DisruptionBudgetArithmeticTests {
    func pod(_ name: String, ready: Bool) -> Pod {
        var pod = Pod(metadata: ObjectMeta(name: name, namespace: "default", labels: ["app": "web"]))
        pod.status = PodStatus(phase: "Running")
        pod.status?.conditions = [PodCondition(type: "Ready", status: ready ? "True" : "False")]
        return pod
    }

    @Test func percentagesRoundUpAndMaxUnavailableCountsFromExpected() throws {
        var budget = PodDisruptionBudget(metadata: ObjectMeta(name: "web", namespace: "default"))
        budget.spec = PodDisruptionBudgetSpec(minAvailable: .string("50%"), selector: LabelSelectorSpec(matchLabels: ["app": "web"]))
        let five = (0..<5).map { pod("p\($0)", ready: $0 < 4) }
        let byPercent = DisruptionBudget.status(budget, pods: five, now: .now)
        #expect((byPercent.expectedPods, byPercent.currentHealthy, byPercent.desiredHealthy, byPercent.disruptionsAllowed) == (5, 4, 3, 1))
        budget.spec = PodDisruptionBudgetSpec(maxUnavailable: .int(1), selector: LabelSelectorSpec(matchLabels: ["app": "web"]))
        let byMaximum = DisruptionBudget.status(budget, pods: five, now: .now)
        #expect((byMaximum.desiredHealthy, byMaximum.disruptionsAllowed) == (4, 0))
    }

    @Test("expected pods: an integer minAvailable counts the pods, otherwise their controllers' scale (a Deployment over its ReplicaSet)")
    func expectedPodsFromControllerScale() throws {
        let deployment = ObjectMeta(name: "web", namespace: "default")
        var replicaSet = ObjectMeta(name: "web-abc", namespace: "default")
        replicaSet.uid = "rs-uid"
        replicaSet.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "deploy-uid", controller: true)]
        var deploymentMeta = deployment
        deploymentMeta.uid = "deploy-uid"
        let objects: [String: (meta: ObjectMeta, replicas: Int32)] = ["ReplicaSet/web-abc": (replicaSet, 3), "Deployment/web": (deploymentMeta, 6)]
        let scale = { (owner: OwnerReference, namespace: String) in
            DisruptionBudget.controllerScale(owner, namespace: namespace) { kind, _, name in objects["\(kind)/\(name)"] }
        }
        // Four ready pods of the ReplicaSet, one stray pod without a controller.
        var pods = (0..<4).map { index -> Pod in
            var pod = self.pod("p\(index)", ready: true)
            pod.metadata.ownerReferences = [OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-abc", uid: "rs-uid", controller: true)]
            return pod
        }
        pods.append(pod("stray", ready: true))
        var budget = PodDisruptionBudget(metadata: ObjectMeta(name: "web", namespace: "default"))
        budget.spec = PodDisruptionBudgetSpec(maxUnavailable: .int(1), selector: LabelSelectorSpec(matchLabels: ["app": "web"]))
        let status = DisruptionBudget.status(budget, pods: pods, now: .now, scale: scale)
        // The Deployment wants 6 (not the ReplicaSet's 3, not the 4 pods), plus the stray pod.
        #expect((status.expectedPods, status.desiredHealthy, status.currentHealthy, status.disruptionsAllowed) == (7, 6, 5, 0))
        budget.spec = PodDisruptionBudgetSpec(minAvailable: .string("50%"), selector: LabelSelectorSpec(matchLabels: ["app": "web"]))
        #expect(DisruptionBudget.status(budget, pods: pods, now: .now, scale: scale).desiredHealthy == 4)
        budget.spec = PodDisruptionBudgetSpec(minAvailable: .int(2), selector: LabelSelectorSpec(matchLabels: ["app": "web"]))
        #expect(DisruptionBudget.status(budget, pods: pods, now: .now, scale: scale).expectedPods == 5)
        // An owner whose UID does not match (a newer object of that name) is unknown: its pods count as themselves.
        let stale = { (owner: OwnerReference, namespace: String) -> Int32? in
            var other = owner
            other.uid = "someone-else"
            return DisruptionBudget.controllerScale(other, namespace: namespace) { kind, _, name in objects["\(kind)/\(name)"] }
        }
        budget.spec = PodDisruptionBudgetSpec(maxUnavailable: .int(1), selector: LabelSelectorSpec(matchLabels: ["app": "web"]))
        #expect(DisruptionBudget.status(budget, pods: pods, now: .now, scale: stale).expectedPods == 5)
    }
}
