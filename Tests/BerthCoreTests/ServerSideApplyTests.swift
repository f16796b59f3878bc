import BerthCore
import BerthTestSupport
import Testing

@Suite("server-side apply", .blockingAllowed)
struct ServerSideApplyTests {
    static let config: JSONValue = [
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": ["name": "web", "labels": ["app": "web", "tier": "front"]],
        "spec": ["replicas": 2, "template": ["spec": ["containers": [["name": "app", "image": "v1", "args": ["-a"]]]]]],
    ]

    func apply(_ config: JSONValue, to live: JSONValue?, manager: String = "alice", force: Bool = false) -> Result<JSONValue, ServerSideApply.ConflictError> {
        ServerSideApply.apply(config, to: live, manager: manager, force: force, apiVersion: "apps/v1", time: "2026-11-24T00:00:00Z")
    }

    func owned(_ object: JSONValue, by manager: String) -> Set<ServerSideApply.FieldPath> {
        let entry = object.value(at: ["metadata", "managedFields"])?.arrayValue?.first { $0["manager"]?.stringValue == manager }
        return FieldsV1.paths(entry?["fieldsV1"] ?? .null)
    }

    @Test func fieldSetsRoundTripThroughFieldsV1() {
        let paths = ServerSideApply.fieldSet(of: Self.config)
        #expect(paths.contains(["f:spec", "f:replicas"]))
        #expect(paths.contains(["f:metadata", "f:labels", "f:tier"]))
        #expect(paths.contains(["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"app\"}"]))
        #expect(paths.contains(["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"app\"}", "f:args"]))
        #expect(!paths.contains(["f:metadata", "f:name"]), "identity fields are nobody's")
        let tree = FieldsV1.tree(paths)
        #expect(tree.value(at: ["f:spec", "f:template", "f:spec", "f:containers", "k:{\"name\":\"app\"}", "."]) == [:])
        #expect(FieldsV1.paths(tree) == paths)
    }

    @Test func firstApplyOwnsWhatItSends() throws {
        let created = try apply(Self.config, to: nil).get()
        #expect(owned(created, by: "alice") == ServerSideApply.fieldSet(of: Self.config))
        #expect(created.value(at: ["metadata", "managedFields"])?.arrayValue?.first?["operation"] == "Apply")
    }

    @Test func reapplyRemovesWhatTheManagerStoppedSending() throws {
        var live = try apply(Self.config, to: nil).get()
        live.set("web", at: ["metadata", "name"])
        // Someone else's label, written without apply, must survive alice's re-apply.
        live.set("nightly", at: ["metadata", "labels", "job"])
        var next = Self.config
        next.set(nil, at: ["metadata", "labels", "tier"])
        next.set([["name": "app", "image": "v2"]], at: ["spec", "template", "spec", "containers"])
        let merged = try apply(next, to: live).get()
        #expect(merged.value(at: ["metadata", "labels"]) == ["app": "web", "job": "nightly"])
        #expect(merged.value(at: ["spec", "template", "spec", "containers"]) == [["name": "app", "image": "v2"]], "args no longer applied")
        #expect(merged.value(at: ["metadata", "name"]) == "web")
    }

    @Test func aFieldOwnedByAnotherManagerConflictsUnlessForced() throws {
        let live = try apply(Self.config, to: nil).get()
        var bob = Self.config
        bob.set(5, at: ["spec", "replicas"])
        guard case .failure(let conflict) = apply(bob, to: live, manager: "bob") else {
            Issue.record("bob changed alice's replicas without a conflict")
            return
        }
        #expect(conflict.conflicts == [ServerSideApply.Conflict(manager: "alice", field: ".spec.replicas")])
        #expect(conflict.message.contains("conflict with \"alice\": .spec.replicas"))

        // The same values are shared, not conflicting.
        let shared = try apply(Self.config, to: live, manager: "bob").get()
        #expect(owned(shared, by: "bob").contains(["f:spec", "f:replicas"]))
        #expect(owned(shared, by: "alice").contains(["f:spec", "f:replicas"]))

        // Forced, bob takes the field over and alice no longer owns it.
        let forced = try apply(bob, to: live, manager: "bob", force: true).get()
        #expect(forced.value(at: ["spec", "replicas"]) == 5)
        #expect(!owned(forced, by: "alice").contains(["f:spec", "f:replicas"]))
        #expect(owned(forced, by: "bob").contains(["f:spec", "f:replicas"]))
    }

    @Test func keyedListItemsMergeByName() throws {
        let live = try apply(Self.config, to: nil).get()
        let sidecar: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"],
                                  "spec": ["template": ["spec": ["containers": [["name": "log", "image": "busybox"]]]]]]
        let merged = try apply(sidecar, to: live, manager: "sidecar-injector").get()
        let names = merged.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.compactMap { $0["name"]?.stringValue }
        #expect(names == ["app", "log"])
        // Alice re-applies without the sidecar: it is not hers, so it stays.
        let again = try apply(Self.config, to: merged).get()
        #expect(again.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.count == 2)
    }
}
