import BerthCore
import BerthTestSupport
import Testing
@testable import BerthControllers

@Suite("Adoption and release (controller references, .blockingAllowed)")
struct ControllerRefClaimsTests {
    let owner = OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true, blockOwnerDeletion: true)

    func pod(_ name: String, labels: [String: String], owners: [OwnerReference] = [], deleting: Bool = false) -> Pod {
        var metadata = ObjectMeta(name: name, namespace: "default", labels: labels)
        metadata.uid = "uid-\(name)"
        metadata.ownerReferences = owners.isEmpty ? nil : owners
        if deleting { metadata.deletionTimestamp = "2026-12-01T00:00:00Z" }
        return Pod(metadata: metadata, spec: nil)
    }

    @Test("orphans the selector matches are adopted; owned pods it no longer matches are released")
    func claims() throws {
        let selector = try LabelSelector(LabelSelectorSpec(matchLabels: ["app": "web"]))
        let mine = pod("mine", labels: ["app": "web"], owners: [owner])
        let relabelled = pod("relabelled", labels: ["app": "debug"], owners: [owner])
        let stray = pod("stray", labels: ["app": "web", "extra": "1"])
        let unrelated = pod("unrelated", labels: ["app": "db"])
        let leaving = pod("leaving", labels: ["app": "web"], deleting: true)
        let claims = ControllerRefClaims.claim(ownerDeleting: false, selector: selector, owned: [mine, relabelled], orphans: [stray, unrelated, leaving])
        #expect(claims.kept.map(\.metadata.name) == ["mine"])
        #expect(claims.release.map(\.metadata.name) == ["relabelled"])
        #expect(claims.adopt.map(\.metadata.name) == ["stray"])

        // A controller being deleted, or one without a usable selector, changes nothing.
        for quiet in [ControllerRefClaims.claim(ownerDeleting: true, selector: selector, owned: [mine, relabelled], orphans: [stray]),
                      ControllerRefClaims.claim(ownerDeleting: false, selector: nil, owned: [mine, relabelled], orphans: [stray])] {
            #expect(quiet.kept.count == 2 && quiet.adopt.isEmpty && quiet.release.isEmpty)
        }
    }

    @Test("the patches add and remove exactly the owner's reference, keeping others")
    func patches() throws {
        let other = OwnerReference(apiVersion: "v1", kind: "ConfigMap", name: "keeper", uid: "cm-uid")
        let stray = try JSONValue(encoding: pod("stray", labels: ["app": "web"], owners: [other]))
        let adopted = try StrategicMergePatch.apply(ControllerRefClaims<Pod>.adoptionPatch(try stray.decode(Pod.self), owner: owner), to: stray)
        let references = try adopted.decode(Pod.self).metadata.ownerReferences ?? []
        #expect(references.map(\.uid) == ["cm-uid", "rs-uid"])
        #expect(references.last?.controller == true && references.last?.blockOwnerDeletion == true)
        #expect(adopted.value(at: ["metadata", "uid"]) == "uid-stray")

        let released = try StrategicMergePatch.apply(ControllerRefClaims<Pod>.releasePatch(try adopted.decode(Pod.self), ownerUID: "rs-uid"), to: adopted)
        #expect((try released.decode(Pod.self).metadata.ownerReferences ?? []).map(\.uid) == ["cm-uid"])
    }
}
