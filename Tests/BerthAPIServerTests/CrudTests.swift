import BerthTestSupport
import HummingbirdTesting
import HTTPTypes
import BerthCore
import Testing

@Suite("create, read, update, delete", .blockingAllowed)
struct CrudTests {
    @Test func startingNamespacesExist() async throws {
        try await APIHarness.run { _, client in
            let list = try await client.send(.get, "/api/v1/namespaces")
            let names = list.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } ?? []
            #expect(Set(["default", "kube-system", "berth-system"]).isSubset(of: Set(names)))
        }
    }

    @Test func namespacedLifecycle() async throws {
        try await APIHarness.run { _, client in
            let created = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("app"))
            #expect(created.status == 201)
            #expect(created.json.value(at: ["metadata", "uid"])?.stringValue?.isEmpty == false)
            #expect(created.json.value(at: ["metadata", "creationTimestamp"])?.stringValue != nil)
            let revision = try #require(created.json.value(at: ["metadata", "resourceVersion"])?.stringValue)

            let fetched = try await client.send(.get, "/api/v1/namespaces/default/configmaps/app")
            #expect(fetched.status == 200)
            #expect(fetched.json["data"] == ["a": "1"])
            #expect(fetched.json.value(at: ["metadata", "resourceVersion"])?.stringValue == revision)

            var changed = fetched.json
            changed["data"] = ["a": "2"]
            let updated = try await client.send(.put, "/api/v1/namespaces/default/configmaps/app", json: changed)
            #expect(updated.status == 200)
            #expect(updated.json["data"] == ["a": "2"])
            #expect(updated.json.value(at: ["metadata", "resourceVersion"])?.stringValue != revision)
            #expect(updated.json.value(at: ["metadata", "uid"]) == created.json.value(at: ["metadata", "uid"]))

            let all = try await client.send(.get, "/api/v1/configmaps")
            #expect(all.json["kind"] == "ConfigMapList")
            #expect(all.json["items"]?.arrayValue?.count == 1)

            let deleted = try await client.send(.delete, "/api/v1/namespaces/default/configmaps/app")
            #expect(deleted.status == 200)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/configmaps/app").status == 404)
        }
    }

    @Test func clusterScopedLifecycle() async throws {
        try await APIHarness.run { _, client in
            let node: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "host-1", "labels": ["zone": "a"]],
                                   "status": ["capacity": ["cpu": "2", "memory": "24Gi"]]]
            let created = try await client.send(.post, "/api/v1/nodes", json: node)
            #expect(created.status == 201)
            #expect(created.json.value(at: ["metadata", "namespace"]) == nil)
            #expect(created.json.value(at: ["status", "capacity", "memory"]) == "24Gi")
            #expect(try await client.send(.get, "/api/v1/nodes/host-1").status == 200)
            #expect(try await client.send(.delete, "/api/v1/nodes/host-1").status == 200)
            #expect(try await client.send(.get, "/api/v1/nodes/host-1").status == 404)
        }
    }

    @Test("kubectl cordon's spec.unschedulable brings the unschedulable taint, uncordon takes it away, other taints stay")
    func cordonTaintsTheNode() async throws {
        try await APIHarness.run { _, client in
            let node: JSONValue = ["apiVersion": "v1", "kind": "Node", "metadata": ["name": "host-1"],
                                   "spec": ["taints": [["key": "dedicated", "value": "gpu", "effect": "NoSchedule"]]]]
            #expect(try await client.send(.post, "/api/v1/nodes", json: node).status == 201)
            func taints() async throws -> [String] {
                let read = try await client.send(.get, "/api/v1/nodes/host-1")
                return (read.json.value(at: ["spec", "taints"])?.arrayValue ?? []).map { "\($0["key"]?.stringValue ?? ""):\($0["effect"]?.stringValue ?? "")" }
            }
            let cordon = try await client.send(.patch, "/api/v1/nodes/host-1", json: ["spec": ["unschedulable": true]], contentType: "application/strategic-merge-patch+json")
            #expect(cordon.status == 200)
            #expect(try await taints() == ["dedicated:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"])
            // Cordoning again adds nothing twice.
            #expect(try await client.send(.patch, "/api/v1/nodes/host-1", json: ["metadata": ["labels": ["a": "b"]]], contentType: "application/merge-patch+json").status == 200)
            #expect(try await taints() == ["dedicated:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"])
            #expect(try await client.send(.patch, "/api/v1/nodes/host-1", json: ["spec": ["unschedulable": nil]], contentType: "application/merge-patch+json").status == 200)
            #expect(try await taints() == ["dedicated:NoSchedule"])
        }
    }

    @Test func defaultsAreApplied() async throws {
        try await APIHarness.run { _, client in
            let created = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            #expect(created.status == 201)
            #expect(created.json.value(at: ["spec", "strategy", "type"]) == "RollingUpdate")
            #expect(created.json.value(at: ["spec", "strategy", "rollingUpdate", "maxSurge"]) == "25%")
            #expect(created.json.value(at: ["spec", "revisionHistoryLimit"]) == 10)
            #expect(created.json.value(at: ["spec", "template", "spec", "restartPolicy"]) == "Always")
            #expect(created.json.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.first?["imagePullPolicy"] == "Always")
            #expect(created.json.value(at: ["metadata", "generation"]) == 1)
            let service: JSONValue = ["apiVersion": "v1", "kind": "Service", "metadata": ["name": "web"],
                                      "spec": ["selector": ["app": "web"], "ports": [["port": 80, "targetPort": 8080]]]]
            let svc = try await client.send(.post, "/api/v1/namespaces/default/services", json: service)
            #expect(svc.status == 201)
            let ip = try #require(svc.json.value(at: ["spec", "clusterIP"])?.stringValue)
            #expect(ip.hasPrefix("100.6") || ip.hasPrefix("100.7"))
            #expect(svc.json.value(at: ["spec", "ports"])?.arrayValue?.first?["protocol"] == "TCP")
        }
    }

    @Test func generateNameMakesUniqueNames() async throws {
        try await APIHarness.run { _, client in
            var object = Fixtures.configMap("")
            object.set(nil, at: ["metadata", "name"])
            object.set("job-", at: ["metadata", "generateName"])
            let first = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: object)
            let second = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: object)
            #expect(first.status == 201 && second.status == 201)
            let names = [first, second].compactMap { $0.json.value(at: ["metadata", "name"])?.stringValue }
            #expect(names.allSatisfy { $0.hasPrefix("job-") && $0.count == 9 })
            #expect(Set(names).count == 2)
        }
    }

    @Test func dryRunStoresNothing() async throws {
        try await APIHarness.run { _, client in
            let result = try await client.send(.post, "/api/v1/namespaces/default/configmaps?dryRun=All", json: Fixtures.configMap("dry"))
            #expect(result.status == 201)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/configmaps/dry").status == 404)
            // A dry-run update answers with the change at the object's current version (what
            // kubectl diff shows as the merged object) and stores nothing.
            let created = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("real"))
            let version = created.json.value(at: ["metadata", "resourceVersion"])
            let patched = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/real?dryRun=All", json: ["data": ["a": "2"]],
                                                contentType: "application/merge-patch+json")
            #expect(patched.json.value(at: ["data", "a"]) == "2")
            #expect(patched.json.value(at: ["metadata", "resourceVersion"]) == version)
            #expect(try await client.send(.get, "/api/v1/namespaces/default/configmaps/real").json.value(at: ["data", "a"]) == "1")
        }
    }

    @Test func secretsFoldStringData() async throws {
        try await APIHarness.run { _, client in
            let secret: JSONValue = ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "s"], "stringData": ["user": "admin"]]
            let created = try await client.send(.post, "/api/v1/namespaces/default/secrets?fieldValidation=Strict", json: secret)
            #expect(created.status == 201)
            #expect(created.json.value(at: ["data", "user"]) == "YWRtaW4=")
            #expect(created.json["stringData"] == nil)
            #expect(created.json["type"] == "Opaque")
        }
    }
}
