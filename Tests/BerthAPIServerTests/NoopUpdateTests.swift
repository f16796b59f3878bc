import BerthTestSupport
import HummingbirdTesting
import HTTPTypes
import BerthCore
import Testing

@Suite("updates that change nothing", .blockingAllowed)
struct NoopUpdateTests {
    @Test func patchingTheSameValueKeepsResourceVersion() async throws {
        try await APIHarness.run { _, client in
            let secret: JSONValue = ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "s"], "stringData": ["password": "s3cret"]]
            let created = try await client.send(.post, "/api/v1/namespaces/default/secrets", json: secret)
            #expect(created.status == 201)
            let patched = try await client.send(.patch, "/api/v1/namespaces/default/secrets/s", json: ["stringData": ["password": "s3cret"]],
                                                contentType: "application/strategic-merge-patch+json")
            #expect(patched.status == 200)
            #expect(patched.json.value(at: ["metadata", "resourceVersion"]) == created.json.value(at: ["metadata", "resourceVersion"]))
            #expect(patched.json.value(at: ["data", "password"]) == "czNjcmV0")

            let deployment = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            #expect(deployment.status == 201)
            let same = try await client.send(.patch, "/apis/apps/v1/namespaces/default/deployments/web",
                                             json: ["spec": ["template": ["spec": ["$setElementOrder/containers": [["name": "main"]], "containers": [["name": "main", "image": "berth/busybox:latest"]]]]]],
                                             contentType: "application/strategic-merge-patch+json")
            #expect(same.status == 200)
            #expect(same.json.value(at: ["metadata", "resourceVersion"]) == deployment.json.value(at: ["metadata", "resourceVersion"]))
            #expect(same.json.value(at: ["metadata", "generation"]) == 1)
        }
    }
}
