import BerthCore
import BerthTestSupport
import Testing

/// A pod update that changes only `status` is admitted from its status alone; the result must
/// be what the full path (decode, default and re-encode the whole pod) gives.
@Suite("status admitted alone", .blockingAllowed)
struct StatusAdmissionTests {
    let sent: JSONValue = [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": "p", "namespace": "default", "labels": ["app": "web"]],
        "spec": ["containers": [["name": "c", "image": "i", "ports": [["containerPort": 80]]]], "nodeName": "n1"],
    ]

    func stored() throws -> JSONValue { try ResourceDescriptor.pod.admit(sent, old: nil).object }

    @Test func aStatusOnlyUpdateGivesWhatTheFullPathGives() throws {
        let old = try stored()
        var update = old
        update["status"] = [
            "phase": "Running", "podIP": "100.96.0.5", "startTime": "2026-12-02T10:00:00Z",
            "conditions": [["type": "Ready", "status": "True"]],
            "containerStatuses": [["name": "c", "image": "i", "imageID": "", "ready": true, "restartCount": 0,
                                   "state": ["running": ["startedAt": "2026-12-02T10:00:01Z"]]]],
        ]
        #expect(Pod.admitStatusAlone(update, old: old) != nil)
        let alone = try ResourceDescriptor.pod.admit(update, old: old)
        let full = try ResourceDescriptor.pod.admit(update, old: nil)
        #expect(alone.object == full.object)
        #expect(alone.causes.isEmpty && alone.unknownFields.isEmpty)
    }

    /// The API server passes the stored object with its resourceVersion and the update with
    /// it taken out (`carryServerFields`); that alone must not force the full path.
    @Test func theStoredResourceVersionDoesNotCountAsAChange() throws {
        var old = try stored()
        old.set("42", at: ["metadata", "resourceVersion"])
        var update = try stored()
        update["status"] = ["phase": "Running", "podIP": "100.96.0.5"]
        let alone = try #require(Pod.admitStatusAlone(update, old: old))
        #expect(alone.object == (try ResourceDescriptor.pod.admit(update, old: nil)).object)
        #expect(alone.object.value(at: ["metadata", "resourceVersion"]) == nil)
        // Any other metadata difference still takes the full path.
        update.set("x", at: ["metadata", "annotations", "a"])
        #expect(Pod.admitStatusAlone(update, old: old) == nil)
    }

    @Test func statusDefaultsAndUnknownFieldsAsOnTheFullPath() throws {
        let old = try stored()
        var update = old
        update["status"] = ["podIP": "100.96.0.5", "bogus": 1]
        let alone = try ResourceDescriptor.pod.admit(update, old: old)
        let full = try ResourceDescriptor.pod.admit(update, old: nil)
        #expect(alone.object == full.object)
        #expect(alone.object.value(at: ["status", "phase"])?.stringValue == "Pending")
        #expect(alone.unknownFields == ["status.bogus"])
        #expect(full.unknownFields == ["status.bogus"])
    }

    @Test func anythingBesidesStatusTakesTheFullPath() throws {
        let old = try stored()
        var labelled = old
        labelled.set("api", at: ["metadata", "labels", "app"])
        #expect(Pod.admitStatusAlone(labelled, old: old) == nil)
        var respecced = old
        respecced.set("Never", at: ["spec", "restartPolicy"])
        #expect(Pod.admitStatusAlone(respecced, old: old) == nil)
        // The full path still refuses the forbidden spec change.
        #expect(try ResourceDescriptor.pod.admit(respecced, old: old).causes.map(\.field) == ["spec"])
        var dropped = old
        dropped["spec"] = nil
        #expect(Pod.admitStatusAlone(dropped, old: old) == nil)
    }

    @Test func aStatusOfTheWrongTypeIsWordedByTheFullPath() throws {
        let old = try stored()
        var update = old
        update["status"] = ["phase": 7]
        #expect(Pod.admitStatusAlone(update, old: old) == nil)
        do {
            _ = try ResourceDescriptor.pod.admit(update, old: old)
            Issue.record("a status with a number for phase was admitted")
        } catch {
            #expect(error.message.contains("status.phase"))
        }
    }
}
