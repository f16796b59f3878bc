import BerthCore
import BerthTestSupport
import Testing

@Suite("patch algorithms", .blockingAllowed)
struct PatchAlgorithmTests {
    @Test func mergePatchFollowsRFC7386() {
        let target: JSONValue = ["a": "b", "c": ["d": "e", "f": "g"]]
        let patch: JSONValue = ["a": "z", "c": ["f": .null]]
        #expect(MergePatch.apply(patch, to: target) == ["a": "z", "c": ["d": "e"]])
        #expect(MergePatch.apply(["a": [1]], to: ["a": [1, 2]]) == ["a": [1]])
    }

    @Test func jsonPatchOperations() throws {
        let document: JSONValue = ["list": [1, 2], "obj": ["k": "v"]]
        let patched = try JSONPatch.apply([
            ["op": "add", "path": "/list/1", "value": 9],
            ["op": "move", "from": "/obj/k", "path": "/moved"],
            ["op": "copy", "from": "/moved", "path": "/copied"],
            ["op": "remove", "path": "/list/0"],
            ["op": "add", "path": "/a~1b", "value": true],
        ], to: document)
        #expect(patched == ["list": [9, 2], "obj": [:], "moved": "v", "copied": "v", "a/b": true])
        #expect(throws: BerthError.self) { try JSONPatch.apply([["op": "replace", "path": "/nope", "value": 1]], to: document) }
        #expect(throws: BerthError.self) { try JSONPatch.apply([["op": "jump", "path": "/list"]], to: document) }
    }

    /// Nested paths, a failed test leaving the input untouched, and Kubernetes' limit of 10,000
    /// operations (413 before any is applied).
    @Test func jsonPatchInPlaceAndItsLimit() throws {
        let document: JSONValue = ["a": ["b": [["c": 1]]]]
        let patched = try JSONPatch.apply([
            ["op": "add", "path": "/a/b/0/d", "value": 2],
            ["op": "replace", "path": "/a/b/0/c", "value": 3],
            ["op": "move", "from": "/a/b/0/d", "path": "/a/e"],
            ["op": "test", "path": "/a/e", "value": 2],
        ], to: document)
        #expect(patched == ["a": ["b": [["c": 3]], "e": 2]])
        #expect(document == ["a": ["b": [["c": 1]]]])
        #expect(throws: BerthError.self) { try JSONPatch.apply([["op": "remove", "path": "/a/x/y"]], to: document) }
        let many = JSONValue.array(Array(repeating: ["op": "add", "path": "/a/b/-", "value": 1], count: JSONPatch.maximumOperations))
        let grown = try JSONPatch.apply(many, to: document)
        #expect(grown.value(at: ["a", "b"])?.arrayValue?.count == JSONPatch.maximumOperations + 1)
        let tooMany = JSONValue.array(Array(repeating: ["op": "add", "path": "/a/b/-", "value": 1], count: JSONPatch.maximumOperations + 1))
        let error = #expect(throws: BerthError.self) { try JSONPatch.apply(tooMany, to: document) }
        #expect(error?.code == .requestEntityTooLarge)
    }

    @Test func strategicMergeDirectives() throws {
        let original: JSONValue = ["metadata": ["finalizers": ["a"]], "spec": ["containers": [["name": "x", "image": "1"], ["name": "y", "image": "2"]],
                                                                               "tolerations": [["key": "k"]]]]
        let patch: JSONValue = [
            "metadata": ["finalizers": ["b"]],
            "spec": [
                "$setElementOrder/containers": [["name": "y"], ["name": "x"]],
                "containers": [["name": "x", "image": "3"]],
                "tolerations": [["key": "t"]],
            ],
        ]
        let merged = try StrategicMergePatch.apply(patch, to: original)
        #expect(merged.value(at: ["metadata", "finalizers"]) == ["a", "b"])
        #expect(merged.value(at: ["spec", "containers"]) == [["name": "y", "image": "2"], ["name": "x", "image": "3"]])
        #expect(merged.value(at: ["spec", "tolerations"]) == [["key": "t"]])
        let deleted = try StrategicMergePatch.apply(["metadata": ["$deleteFromPrimitiveList/finalizers": ["a"]], "spec": ["$patch": "delete"]], to: original)
        #expect(deleted == ["metadata": ["finalizers": []]])
        let retained = try StrategicMergePatch.apply(["spec": ["$retainKeys": ["tolerations"], "tolerations": []]], to: original)
        #expect(retained == ["metadata": ["finalizers": ["a"]], "spec": ["tolerations": []]])
    }
}
