import BerthCore
import BerthTestSupport
import HummingbirdTesting
import Testing

@Suite("PriorityClasses and pod priority admission", .blockingAllowed)
struct PriorityClassTests {
    let classes = "/apis/scheduling.k8s.io/v1/priorityclasses"
    let pods = "/api/v1/namespaces/default/pods"

    func priorityClass(_ name: String, value: JSONValue?, globalDefault: Bool? = nil, policy: String? = nil) -> JSONValue {
        var object: JSONValue = ["apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": ["name": .string(name)]]
        if let value { object["value"] = value }
        if let globalDefault { object["globalDefault"] = .bool(globalDefault) }
        if let policy { object["preemptionPolicy"] = .string(policy) }
        return object
    }

    func pod(_ name: String, className: String? = nil, priority: Int? = nil, policy: String? = nil) -> JSONValue {
        var object = Fixtures.pod(name)
        if let className { object.set(.string(className), at: ["spec", "priorityClassName"]) }
        if let priority { object.set(.number(String(priority)), at: ["spec", "priority"]) }
        if let policy { object.set(.string(policy), at: ["spec", "preemptionPolicy"]) }
        return object
    }

    @Test func builtInClassesAndTheirTable() async throws {
        try await APIHarness.run { _, client in
            let list = try await client.send(.get, classes)
            let names = (list.json["items"]?.arrayValue ?? []).compactMap { $0.value(at: ["metadata", "name"])?.stringValue }
            #expect(Set(names) == ["system-node-critical", "system-cluster-critical"])
            let node = try await client.send(.get, classes + "/system-node-critical")
            #expect(node.json["value"] == 2_000_001_000)
            #expect(node.json["preemptionPolicy"] == "PreemptLowerPriority")
            let table = try await client.send(.get, classes + "/system-cluster-critical",
                                              headers: [.accept: "application/json;as=Table;v=v1;g=meta.k8s.io"])
            let columns = (table.json["columnDefinitions"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            #expect(columns == ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"])
            let cells = table.json["rows"]?.arrayValue?.first?["cells"]?.arrayValue ?? []
            #expect(cells.count == 5 && cells[1] == 2_000_000_000 && cells[2] == false && cells[4] == "PreemptLowerPriority")
        }
    }

    @Test func invalidClassesAreRefusedNamingTheField() async throws {
        try await APIHarness.run { _, client in
            func refusal(_ object: JSONValue) async throws -> (Int, [String]) {
                let reply = try await client.send(.post, classes, json: object)
                let fields = (reply.json.value(at: ["details", "causes"])?.arrayValue ?? []).compactMap { $0["field"]?.stringValue }
                return (reply.status, fields)
            }
            #expect(try await refusal(priorityClass("no-value", value: nil)) == (422, ["value"]))
            #expect(try await refusal(priorityClass("too-high", value: 1_000_000_001)) == (422, ["value"]))
            #expect(try await refusal(priorityClass("system-mine", value: 10)) == (422, ["metadata.name"]))
            #expect(try await refusal(priorityClass("odd-policy", value: 10, policy: "Sometimes")) == (422, ["preemptionPolicy"]))
            #expect(try await refusal(priorityClass("text", value: "high")).0 == 400)
            #expect(try await client.send(.get, classes + "/too-high").status == 404, "nothing stored")

            #expect(try await client.send(.post, classes, json: priorityClass("high", value: 1000)).status == 201)
            let changed = try await client.send(.patch, classes + "/high", json: ["value": 2000], contentType: "application/merge-patch+json")
            #expect(changed.status == 422)
            #expect(changed.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"] == "value")
            let described = try await client.send(.patch, classes + "/high", json: ["description": "for the front end"], contentType: "application/merge-patch+json")
            #expect(described.status == 200)

            #expect(try await client.send(.post, classes, json: priorityClass("default-one", value: 100, globalDefault: true)).status == 201)
            let second = try await client.send(.post, classes, json: priorityClass("default-two", value: 200, globalDefault: true))
            #expect(second.status == 403)
            #expect(second.json["message"]?.stringValue?.contains("PriorityClass default-one is already marked as default") == true)
            let flipped = try await client.send(.patch, classes + "/high", json: ["globalDefault": true], contentType: "application/merge-patch+json")
            #expect(flipped.status == 403, "a second default by update is refused too")
        }
    }

    @Test func podsTakeTheirClassValue() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.post, classes, json: priorityClass("high", value: 1000)).status == 201)
            #expect(try await client.send(.post, classes, json: priorityClass("polite", value: 500, policy: "Never")).status == 201)

            let plain = try await client.send(.post, pods, json: pod("plain"))
            #expect(plain.status == 201)
            #expect(plain.json.value(at: ["spec", "priority"]) == 0)
            #expect(plain.json.value(at: ["spec", "preemptionPolicy"]) == "PreemptLowerPriority")
            #expect(plain.json.value(at: ["spec", "priorityClassName"]) == nil)

            let high = try await client.send(.post, pods, json: pod("high", className: "high"))
            #expect(high.json.value(at: ["spec", "priority"]) == 1000)
            let polite = try await client.send(.post, pods, json: pod("polite", className: "polite"))
            #expect(polite.json.value(at: ["spec", "priority"]) == 500)
            #expect(polite.json.value(at: ["spec", "preemptionPolicy"]) == "Never")
            let critical = try await client.send(.post, pods, json: pod("critical", className: "system-cluster-critical"))
            #expect(critical.json.value(at: ["spec", "priority"]) == 2_000_000_000)
            #expect(try await client.send(.post, pods, json: pod("stated", className: "high", priority: 1000)).status == 201,
                    "a priority equal to the class's is accepted")

            let missing = try await client.send(.post, pods, json: pod("missing", className: "nope"))
            #expect(missing.status == 403)
            #expect(missing.json["message"] == "pods \"missing\" is forbidden: no PriorityClass with name nope was found")
            let forged = try await client.send(.post, pods, json: pod("forged", className: "high", priority: 5))
            #expect(forged.status == 403)
            #expect(forged.json["message"]?.stringValue?.contains("the integer value of priority (5) must not be provided") == true)
            let bold = try await client.send(.post, pods, json: pod("bold", className: "polite", policy: "PreemptLowerPriority"))
            #expect(bold.status == 403)
            for name in ["missing", "forged", "bold"] { #expect(try await client.send(.get, pods + "/\(name)").status == 404) }

            // A global default serves pods that name no class, from then on.
            #expect(try await client.send(.post, classes, json: priorityClass("everyone", value: 7, globalDefault: true)).status == 201)
            let later = try await client.send(.post, pods, json: pod("later"))
            #expect(later.json.value(at: ["spec", "priority"]) == 7)
            #expect(later.json.value(at: ["spec", "priorityClassName"]) == "everyone")
            #expect(try await client.send(.get, pods + "/plain").json.value(at: ["spec", "priority"]) == 0)

            // Priority is part of the immutable pod spec.
            let raised = try await client.send(.patch, pods + "/plain", json: ["spec": ["priority": 9]], contentType: "application/merge-patch+json")
            #expect(raised.status == 422)
        }
    }
}
