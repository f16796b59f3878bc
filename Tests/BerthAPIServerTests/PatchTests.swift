import BerthCore
import BerthTestSupport
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("patch types", .blockingAllowed)
struct PatchTests {
    let path = "/apis/apps/v1/namespaces/default/deployments/web"

    @Test func mergePatchSetsAndRemovesFields() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            let result = try await client.send(.patch, path, json: ["metadata": ["labels": ["tier": "front", "app": .null]], "spec": ["replicas": 4]],
                                               contentType: "application/merge-patch+json")
            #expect(result.status == 200)
            #expect(result.json.value(at: ["metadata", "labels"]) == ["tier": "front"])
            #expect(result.json.value(at: ["spec", "replicas"]) == 4)
            #expect(result.json.value(at: ["metadata", "generation"]) == 2)
        }
    }

    @Test func strategicMergeMergesListsByKey() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            let patch: JSONValue = ["spec": ["template": ["spec": ["containers": [
                ["name": "main", "env": [["name": "B", "value": "2"]], "ports": [["containerPort": 9090]]],
                ["name": "sidecar", "image": "berth/busybox:latest"],
            ]]]]]
            let result = try await client.send(.patch, path, json: patch, contentType: "application/strategic-merge-patch+json")
            #expect(result.status == 200)
            let containers = try #require(result.json.value(at: ["spec", "template", "spec", "containers"])?.arrayValue)
            #expect(containers.map { $0["name"] } == ["main", "sidecar"])
            #expect(containers[0]["image"] == "berth/busybox:latest")
            #expect(containers[0]["env"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["A", "B"])
            #expect(containers[0]["ports"]?.arrayValue?.compactMap { $0["containerPort"]?.intValue } == [8080, 9090])
            #expect(containers[1]["imagePullPolicy"] == "Always")

            let delete: JSONValue = ["spec": ["template": ["spec": ["containers": [["name": "sidecar", "$patch": "delete"]]]]]]
            let afterDelete = try await client.send(.patch, path, json: delete, contentType: "application/strategic-merge-patch+json")
            #expect(afterDelete.json.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.count == 1)

            let replace: JSONValue = ["spec": ["template": ["spec": ["containers": [["name": "main", "env": [["$patch": "replace"], ["name": "Z", "value": "26"]]]]]]]]
            let afterReplace = try await client.send(.patch, path, json: replace, contentType: "application/strategic-merge-patch+json")
            #expect(afterReplace.json.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["env"] == [["name": "Z", "value": "26"]])
        }
    }

    @Test func jsonPatchAppliesOperationsInOrder() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            let operations: JSONValue = [
                ["op": "test", "path": "/spec/replicas", "value": 2],
                ["op": "replace", "path": "/spec/replicas", "value": 5],
                ["op": "add", "path": "/metadata/labels/tier", "value": "back"],
                ["op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": ["name": "C", "value": "3"]],
                ["op": "copy", "from": "/metadata/labels/tier", "path": "/metadata/annotations"],
            ]
            let failing = try await client.send(.patch, path, json: [["op": "test", "path": "/spec/replicas", "value": 9]], contentType: "application/json-patch+json")
            #expect(failing.status == 422)
            let result = try await client.send(.patch, path, json: operations, contentType: "application/json-patch+json")
            // copy of a string into annotations (an object field) must fail type checking → 400, and nothing changes.
            #expect(result.status == 400)
            let ok = try await client.send(.patch, path, json: .array(Array(operations.arrayValue!.prefix(4))), contentType: "application/json-patch+json")
            #expect(ok.status == 200)
            #expect(ok.json.value(at: ["spec", "replicas"]) == 5)
            #expect(ok.json.value(at: ["metadata", "labels", "tier"]) == "back")
            #expect(ok.json.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["env"]?.arrayValue?.count == 2)
        }
    }

    @Test func scaleSubresource() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            let scale = try await client.send(.get, path + "/scale")
            #expect(scale.json["kind"] == "Scale")
            #expect(scale.json["apiVersion"] == "autoscaling/v1")
            #expect(scale.json.value(at: ["spec", "replicas"]) == 2)
            #expect(scale.json.value(at: ["status", "selector"]) == "app=web")
            let patched = try await client.send(.patch, path + "/scale", json: ["spec": ["replicas": 6]], contentType: "application/merge-patch+json")
            #expect(patched.json.value(at: ["spec", "replicas"]) == 6)
            var put = patched.json
            put.set(3, at: ["spec", "replicas"])
            #expect(try await client.send(.put, path + "/scale", json: put).json.value(at: ["spec", "replicas"]) == 3)
            let deployment = try await client.send(.get, path)
            #expect(deployment.json.value(at: ["spec", "replicas"]) == 3)
            #expect(deployment.json.value(at: ["metadata", "generation"]) == 3)
            let negative = try await client.send(.patch, path + "/scale", json: ["spec": ["replicas": -1]], contentType: "application/merge-patch+json")
            #expect(negative.status == 422)
        }
    }

    @Test func statusSubresourceOwnsStatusOnly() async throws {
        try await APIHarness.run { _, client in
            let created = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            var withStatus = created.json
            withStatus.set(["replicas": 2, "readyReplicas": 1], at: ["status"])
            withStatus.set(9, at: ["spec", "replicas"])
            let statusWrite = try await client.send(.put, path + "/status", json: withStatus)
            #expect(statusWrite.status == 200)
            #expect(statusWrite.json.value(at: ["status", "readyReplicas"]) == 1)
            #expect(statusWrite.json.value(at: ["spec", "replicas"]) == 2)
            #expect(statusWrite.json.value(at: ["metadata", "generation"]) == 1)
            var mainWrite = statusWrite.json
            mainWrite.set(["replicas": 0], at: ["status"])
            mainWrite.set("v2", at: ["metadata", "labels", "version"])
            let main = try await client.send(.put, path, json: mainWrite)
            #expect(main.json.value(at: ["status", "readyReplicas"]) == 1)
            #expect(main.json.value(at: ["metadata", "generation"]) == 1)
            let patch = try await client.send(.patch, path + "/status", json: ["status": ["availableReplicas": 1]], contentType: "application/merge-patch+json")
            #expect(patch.json.value(at: ["status", "availableReplicas"]) == 1)
        }
    }
}
