import BerthCore
import BerthTestSupport
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("server-side apply over the API", .blockingAllowed)
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

            // A plain update keeps the ownership records and adds its own for what it changed.
            let labelled = try await client.send(.patch, path + "?fieldManager=carol", json: ["metadata": ["labels": ["extra": "1"]]],
                                                 contentType: "application/merge-patch+json")
            let entries = labelled.json.value(at: ["metadata", "managedFields"])?.arrayValue ?? []
            #expect(entries.count == 3)
            #expect(entries.last?["manager"] == "carol" && entries.last?["operation"] == "Update")
            #expect(entries.last?.value(at: ["fieldsV1", "f:metadata", "f:labels", "f:extra"]) == .object([:]))
        }
    }

    @Test func fieldsChangedByAnUpdateBelongToItsManager() async throws {
        try await APIHarness.run { _, client in
            var config = Fixtures.deployment("web")
            config.set(nil, at: ["metadata", "namespace"])
            #expect(try await client.send(.patch, path + "?fieldManager=alice", json: config, contentType: type).status == 201)

            // `kubectl edit`-style merge patch of alice's replicas, by another manager.
            let edited = try await client.send(.patch, path + "?fieldManager=kubectl-edit", json: ["spec": ["replicas": 9]],
                                               contentType: "application/merge-patch+json")
            #expect(edited.status == 200)
            let entries = edited.json.value(at: ["metadata", "managedFields"])?.arrayValue ?? []
            let alice = entries.first { $0["manager"] == "alice" }
            let editor = entries.first { $0["manager"] == "kubectl-edit" }
            #expect(alice?.value(at: ["fieldsV1", "f:spec", "f:replicas"]) == nil, "alice lost the field she no longer set")
            #expect(editor?["operation"] == "Update")
            #expect(editor?.value(at: ["fieldsV1", "f:spec", "f:replicas"]) == .object([:]))

            // alice applying her old value again now conflicts with the editor, and changes nothing.
            let reapplied = try await client.send(.patch, path + "?fieldManager=alice", json: config, contentType: type)
            #expect(reapplied.status == 409)
            #expect(reapplied.json["message"]?.stringValue?.contains("conflict with \"kubectl-edit\"") == true)
            #expect(reapplied.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"] == ".spec.replicas")
            #expect(try await client.send(.get, path).json.value(at: ["spec", "replicas"]) == 9)
            let forced = try await client.send(.patch, path + "?fieldManager=alice&force=true", json: config, contentType: type)
            #expect(forced.status == 200)
            #expect(forced.json.value(at: ["spec", "replicas"]) == config.value(at: ["spec", "replicas"]))
            let after = forced.json.value(at: ["metadata", "managedFields"])?.arrayValue ?? []
            #expect(!after.contains { $0["manager"] == "kubectl-edit" }, "the editor's only field went to alice")

            // A PUT with no fieldManager is recorded under the client's program name; an update
            // that changes nothing changes no record.
            var current = try await client.send(.get, path).json
            current.set(["team": "a"], at: ["metadata", "labels"])
            let put = try await client.send(.put, path, json: current, headers: [.userAgent: "deployer/2.1 (linux)"])
            #expect(put.status == 200)
            let putEntries = put.json.value(at: ["metadata", "managedFields"])?.arrayValue ?? []
            #expect(putEntries.contains { $0["manager"] == "deployer" && $0.value(at: ["fieldsV1", "f:metadata", "f:labels", "f:team"]) != nil })
            let again = try await client.send(.put, path, json: put.json, headers: [.userAgent: "deployer/2.1 (linux)"])
            #expect(again.json.value(at: ["metadata", "resourceVersion"]) == put.json.value(at: ["metadata", "resourceVersion"]))

            // Objects nobody applied carry no ownership records (see UpdateOwnership.swift).
            #expect(try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("plain")).status == 201)
            let plain = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/plain?fieldManager=x", json: ["data": ["a": "2"]],
                                              contentType: "application/merge-patch+json")
            #expect(plain.json.value(at: ["metadata", "managedFields"]) == nil)
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
