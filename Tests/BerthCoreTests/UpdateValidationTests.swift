import BerthCore
import BerthTestSupport
import Testing

@Suite("update checks and the stored object", .blockingAllowed)
struct UpdateValidationTests {
    let stored: JSONValue = ["metadata": ["name": "p"], "spec": ["containers": [["name": "c", "image": "i"]]], "status": ["phase": "Pending"]]

    @Test func aStatusUpdateNeedsNoStoredPod() throws {
        var update = stored
        update["status"] = ["phase": "Running"]
        #expect(!Pod.validationNeedsOld(update, old: stored))
        update.set("other", at: ["spec", "nodeName"])
        #expect(Pod.validationNeedsOld(update, old: stored))
        #expect(!Lease.validationNeedsOld(update, old: stored))
        #expect(ConfigMap.validationNeedsOld(update, old: stored))
    }

    @Test func anUnchangedSpecStillPassesThroughAdmission() throws {
        // A status-only change to a valid pod is admitted without the stored copy; a forbidden
        // spec change is still refused.
        let admitted = try ResourceDescriptor.pod.admit(stored, old: nil).object
        var running = admitted
        running.set("Running", at: ["status", "phase"])
        #expect(try ResourceDescriptor.pod.admit(running, old: admitted).causes.isEmpty)
        var changed = admitted
        changed.set("Never", at: ["spec", "restartPolicy"])
        #expect(try ResourceDescriptor.pod.admit(changed, old: admitted).causes.map(\.field) == ["spec"])
    }
}
