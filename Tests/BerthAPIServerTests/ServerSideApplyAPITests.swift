import BerthCore
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("server-side apply over the API")
struct ServerSideApplyAPITests {
    let path = "/apis/apps/v1/namespaces/default/deployments/web"
    let type = "application/apply-patch+yaml"

    @Test func applyCreatesThenMergesAndNamesConflicts() async throws {
        try await APIHarness.run { _, client in
            var config = Fixtures.deployment("web")
            config.set(nil, at: ["metadata", "namespace"])
            let created = try await client.send(.patch, path + "?fieldManager=alice", json: config, contentType: type)
            #expect(created.status == 201)
            #expect(created.json.value(at: ["metadata", "managedFields"])?.arrayValue?.first?["manager"] == "alice")
            #expect(created.json.value(at: ["metadata", "uid"])?.stringValue?.isEmpty == false)

            // Another manager changing alice's value: 409 naming the field and its owner; nothing stored.
            var bob = config
            bob.set(7, at: ["spec", "replicas"])
            let conflict = try await client.send(.patch, path + "?fieldManager=bob", json: bob, contentType: type)
            #expect(conflict.status == 409)
            #expect(conflict.json["reason"] == "Conflict")
            #expect(conflict.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"] == ".spec.replicas")
            #expect(conflict.json["message"]?.stringValue?.contains("conflict with \"alice\"") == true)
            let unchanged = try await client.send(.get, path)
            #expect(unchanged.json.value(at: ["spec", "replicas"]) == config.value(at: ["spec", "replicas"]))

            let forced = try await client.send(.patch, path + "?fieldManager=bob&force=true", json: bob, contentType: type)
            #expect(forced.status == 200)
            #expect(forced.json.value(at: ["spec", "replicas"]) == 7)
            #expect(forced.json.value(at: ["metadata", "generation"]) == 2)

            // A plain update keeps the ownership records.
            let labelled = try await client.send(.patch, path, json: ["metadata": ["labels": ["extra": "1"]]], contentType: "application/merge-patch+json")
            #expect(labelled.json.value(at: ["metadata", "managedFields"])?.arrayValue?.count == 2)
        }
    }

    @Test func yamlBodiesAndBadApplies() async throws {
        try await APIHarness.run { _, client in
            let yaml = """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: settings
                data:
                  mode: fast
                """
            let configMap = "/api/v1/namespaces/default/configmaps/settings"
            let created = try await client.send(.patch, configMap + "?fieldManager=ops", body: yaml, contentType: type)
            #expect(created.status == 201)
            #expect(created.json.value(at: ["data", "mode"]) == "fast")

            let noManager = try await client.send(.patch, configMap, body: yaml, contentType: type)
            #expect(noManager.status == 422)
            #expect(noManager.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"] == "fieldManager")

            let wrongName = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/other?fieldManager=ops", body: yaml, contentType: type)
            #expect(wrongName.status == 400)

            let noKind = try await client.send(.patch, configMap + "?fieldManager=ops", json: ["data": ["a": "b"]], contentType: type)
            #expect(noKind.status == 400)

            let garbage = try await client.send(.patch, configMap + "?fieldManager=ops", body: "{: [", contentType: type)
            #expect(garbage.status == 400)
            let after = try await client.send(.get, configMap)
            #expect(after.json["data"] == ["mode": "fast"])
        }
    }
}
