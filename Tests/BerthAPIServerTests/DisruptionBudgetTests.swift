import BerthCore
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("PodDisruptionBudgets and evictions")
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

@Suite("disruption budget arithmetic")
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
}
