import BerthCore
import BerthTestSupport
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("deletion, finalizers, namespaces", .blockingAllowed)
struct DeletionTests {
    @Test func finalizersHoldDeletionUntilRemoved() async throws {
        try await APIHarness.run { _, client in
            var object = Fixtures.configMap("held")
            object.set(["example.com/hold"], at: ["metadata", "finalizers"])
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: object)
            let deleting = try await client.send(.delete, "/api/v1/namespaces/default/configmaps/held")
            #expect(deleting.status == 200)
            #expect(deleting.json.value(at: ["metadata", "deletionTimestamp"]) != nil)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/configmaps/held").status == 200)
            let released = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/held", json: ["metadata": ["finalizers": .null]],
                                                  contentType: "application/merge-patch+json")
            #expect(released.status == 200)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/configmaps/held").status == 404)
        }
    }

    @Test func propagationPolicyIsRecordedAsFinalizer() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            let foreground = try await client.send(.delete, "/apis/apps/v1/namespaces/default/deployments/web",
                                                   json: ["kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"])
            #expect(foreground.json.value(at: ["metadata", "finalizers"]) == ["foregroundDeletion"])
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("orphaned"))
            let orphan = try await client.send(.delete, "/apis/apps/v1/namespaces/default/deployments/orphaned?propagationPolicy=Orphan")
            #expect(orphan.json.value(at: ["metadata", "finalizers"]) == ["orphan"])
            let bad = try await client.send(.delete, "/apis/apps/v1/namespaces/default/deployments/orphaned?propagationPolicy=Sometimes")
            #expect(bad.status == 422)
        }
    }

    @Test func preconditionsAreChecked() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("c"))
            let wrong = try await client.send(.delete, "/api/v1/namespaces/default/configmaps/c", json: ["preconditions": ["uid": "not-it"]])
            #expect(wrong.status == 409)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/configmaps/c").status == 200)
        }
    }

    @Test func podsOnExistingNodesStopGracefully() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/api/v1/nodes", json: ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "n1"]])
            _ = try await client.send(.post, "/api/v1/namespaces/default/pods", json: Fixtures.pod("bound", node: "n1"))
            _ = try await client.send(.post, "/api/v1/namespaces/default/pods", json: Fixtures.pod("unbound"))
            let graceful = try await client.send(.delete, "/api/v1/namespaces/default/pods/bound")
            #expect(graceful.json.value(at: ["metadata", "deletionGracePeriodSeconds"]) == 30)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/pods/bound").status == 200)
            let immediate = try await client.send(.delete, "/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=0")
            #expect(immediate.status == 200)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/pods/bound").status == 404)
            _ = try await client.send(.delete, "/api/v1/namespaces/default/pods/unbound")
            #expect(try await client.send(.get, "/api/v1/namespaces/default/pods/unbound").status == 404)
        }
    }

    @Test func deletingANamespaceRemovesItsObjects() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.post, "/api/v1/namespaces", json: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "team"]]).status == 201)
            _ = try await client.send(.post, "/api/v1/namespaces/team/configmaps", json: Fixtures.configMap("c", namespace: "team"))
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/team/deployments", json: Fixtures.deployment("web"))
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("survivor"))
            let deleting = try await client.send(.delete, "/api/v1/namespaces/team")
            #expect(deleting.json.value(at: ["status", "phase"]) == "Terminating")
            let refused = try await client.send(.post, "/api/v1/namespaces/team/configmaps", json: Fixtures.configMap("late", namespace: "team"))
            #expect(refused.status == 403 || refused.status == 404)
            var gone = false
            for _ in 0..<50 where !gone {
                try await Task.sleep(for: .milliseconds(100))
                gone = try await client.send(.get, "/api/v1/namespaces/team").status == 404
            }
            #expect(gone)
            #expect(try await client.send(.get, "/api/v1/namespaces/team/configmaps").json["items"]?.arrayValue?.isEmpty == true)
            #expect(try await client.send(.get, "/apis/apps/v1/namespaces/team/deployments").json["items"]?.arrayValue?.isEmpty == true)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/configmaps/survivor").status == 200)
        }
    }

    @Test("a namespace's pods on a node get their grace period; the namespace stays Terminating until they are gone")
    func namespaceDeletionHonoursGracePeriods() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.post, "/api/v1/namespaces", json: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "team"]]).status == 201)
            _ = try await client.send(.post, "/api/v1/nodes", json: ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "n1"]])
            var pod = Fixtures.pod("bound", node: "n1")
            pod.set("team", at: ["metadata", "namespace"])
            pod.set(45, at: ["spec", "terminationGracePeriodSeconds"])
            #expect(try await client.send(.post, "/api/v1/namespaces/team/pods", json: pod).status == 201)
            _ = try await client.send(.post, "/api/v1/namespaces/team/configmaps", json: Fixtures.configMap("c", namespace: "team"))
            _ = try await client.send(.delete, "/api/v1/namespaces/team")
            // The pod is marked with its own grace period, as a DELETE of it would (it used to
            // be removed from the store at once, and its containers killed without a TERM).
            var marked = JSONValue.null
            for _ in 0..<50 {
                marked = try await client.send(.get, "/api/v1/namespaces/team/pods/bound").json
                if marked.value(at: ["metadata", "deletionTimestamp"]) != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(marked.value(at: ["metadata", "deletionGracePeriodSeconds"]) == 45, "\(marked)")
            try await Task.sleep(for: .seconds(1.5))
            #expect(try await client.send(.get, "/api/v1/namespaces/team/configmaps/c").status == 404)
            #expect(try await client.send(.get, "/api/v1/namespaces/team").json.value(at: ["status", "phase"]) == "Terminating")
            #expect(try await client.send(.get, "/api/v1/namespaces/team/pods/bound").status == 200)
            // The node's agent finishes the deletion once the containers stopped; then the namespace goes.
            _ = try await client.send(.delete, "/api/v1/namespaces/team/pods/bound", json: ["gracePeriodSeconds": 0])
            var gone = false
            for _ in 0..<50 where !gone {
                try await Task.sleep(for: .milliseconds(100))
                gone = try await client.send(.get, "/api/v1/namespaces/team").status == 404
            }
            #expect(gone)
        }
    }
}
