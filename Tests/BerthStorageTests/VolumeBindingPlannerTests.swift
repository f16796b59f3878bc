import BerthCore
@testable import BerthStorage
import BerthTestSupport
import Foundation
import Testing

/// The volume binder's decisions, pure: static matches (smallest that fits, access modes,
/// class), provisioning for WaitForFirstConsumer once a pod is scheduled, release and reclaim,
/// growth only where the class allows, protection finalizers, and why a claim waits.
@Suite("volume binding planner", .blockingAllowed)
struct VolumeBindingPlannerTests {
    func claim(_ name: String, size: String, className: String?, modes: [String] = ["ReadWriteOnce"], uid: String? = nil) throws -> PersistentVolumeClaim {
        var spec: JSONValue = ["accessModes": .array(modes.map { .string($0) }), "resources": ["requests": ["storage": .string(size)]]]
        if let className { spec["storageClassName"] = .string(className) }
        return try JSONValue.object(["metadata": ["name": .string(name), "namespace": "default", "uid": .string(uid ?? "uid-\(name)"),
                                                  "creationTimestamp": "2026-12-07T00:00:00Z"], "spec": spec]).decode(PersistentVolumeClaim.self)
    }

    func volume(_ name: String, size: String, className: String, modes: [String] = ["ReadWriteOnce"], policy: String = "Retain") throws -> PersistentVolume {
        try JSONValue.object(["metadata": ["name": .string(name), "uid": .string("uid-\(name)")],
                              "spec": ["capacity": ["storage": .string(size)], "accessModes": .array(modes.map { .string($0) }),
                                       "storageClassName": .string(className), "persistentVolumeReclaimPolicy": .string(policy), "hostPath": ["path": "/srv"]],
                              "status": ["phase": "Available"]]).decode(PersistentVolume.self)
    }

    func node(_ name: String) throws -> Node {
        try JSONValue.object(["metadata": ["name": .string(name), "annotations": .object([VolumeBindingPlanner.localDirectoryAnnotation: "/var/lib/berth/volumes"])],
                              "status": ["conditions": [["type": "Ready", "status": "True"]]]]).decode(Node.self)
    }

    func localClass(_ mode: String = "WaitForFirstConsumer", expand: Bool = true) -> StorageClass {
        var storageClass = StorageClass(metadata: ObjectMeta(name: "local"), provisioner: StorageNames.localProvisioner)
        storageClass.volumeBindingMode = mode
        storageClass.reclaimPolicy = "Delete"
        storageClass.allowVolumeExpansion = expand
        return storageClass
    }

    func pod(_ name: String, claim: String, node: String?) throws -> Pod {
        var spec: JSONValue = ["containers": [["name": "c", "image": "busybox"]], "volumes": [["name": "d", "persistentVolumeClaim": ["claimName": .string(claim)]]]]
        if let node { spec["nodeName"] = .string(node) }
        return try JSONValue.object(["metadata": ["name": .string(name), "namespace": "default", "uid": .string("pod-\(name)")], "spec": spec]).decode(Pod.self)
    }

    @Test("a static claim takes the smallest volume that fits, of its class, with its access modes")
    func staticMatch() throws {
        let claims = [try claim("want", size: "5Gi", className: "")]
        let volumes = [try volume("big", size: "100Gi", className: ""), try volume("small", size: "2Gi", className: ""),
                       try volume("right", size: "10Gi", className: ""), try volume("rwx", size: "6Gi", className: "", modes: ["ReadWriteMany"]),
                       try volume("other", size: "6Gi", className: "fast")]
        let plan = VolumeBindingPlanner.plan(.init(claims: claims, volumes: volumes, classes: [], pods: [], nodes: []))
        #expect(plan.updateVolumes.map { $0.metadata.name } == ["right"])
        #expect(plan.updateVolumes.first?.spec?.claimRef?.uid == "uid-want")
    }

    @Test("WaitForFirstConsumer: waits, then provisions a pinned, sized volume on the pod's node")
    func waitForFirstConsumer() throws {
        let claims = [try claim("data", size: "1Gi", className: "local")]
        let waiting = VolumeBindingPlanner.plan(.init(claims: claims, volumes: [], classes: [localClass()], pods: [try pod("p", claim: "data", node: nil)], nodes: [try node("n1")]))
        #expect(waiting.create.isEmpty)
        #expect(waiting.problems["default/data"]?.reason == "WaitForFirstConsumer")
        let plan = VolumeBindingPlanner.plan(.init(claims: claims, volumes: [], classes: [localClass()], pods: [try pod("p", claim: "data", node: "n1")],
                                                   nodes: [try node("n1"), try node("n2")]))
        let made = try #require(plan.create.first)
        #expect(made.metadata.name == "pvc-uid-data")
        #expect(VolumeBindingPlanner.pinnedNode(made) == "n1")
        #expect(made.spec?.local?.path == "/var/lib/berth/volumes/pvc-uid-data")
        #expect(made.spec?.storage == (try Quantity(parsing: "1Gi")))
        #expect(made.spec?.persistentVolumeReclaimPolicy == "Delete")
        #expect(made.metadata.finalizers?.contains(StorageNames.provisionerCleanup) == true)
        // Next pass: the reserved volume gives the claim its volumeName; then both are Bound.
        let next = VolumeBindingPlanner.plan(.init(claims: claims, volumes: [made], classes: [localClass()], pods: [], nodes: []))
        let named = try #require(next.updateClaims.first)
        #expect(named.spec?.volumeName == "pvc-uid-data")
        let last = VolumeBindingPlanner.plan(.init(claims: [named], volumes: [made], classes: [localClass()], pods: [], nodes: []))
        #expect(last.claimStatuses.first?.status?.phase == "Bound")
        #expect(last.claimStatuses.first?.status?.capacity?["storage"] == (try Quantity(parsing: "1Gi")))
        #expect(last.volumeStatuses.first?.status?.phase == "Bound")
    }

    @Test("Immediate: provisioned at once on the Ready node holding the fewest volumes; a missing class is a Warning")
    func immediateAndMissingClass() throws {
        let existing = VolumeBindingPlanner.localVolume(for: try claim("old", size: "1Gi", className: "local"), localClass(), node: "n1", directory: "/v")
        let plan = VolumeBindingPlanner.plan(.init(claims: [try claim("new", size: "1Gi", className: "local"), try claim("lost", size: "1Gi", className: "gold")],
                                                   volumes: [existing], classes: [localClass("Immediate")], pods: [], nodes: [try node("n1"), try node("n2")]))
        #expect(plan.create.map { VolumeBindingPlanner.pinnedNode($0) } == ["n2"])
        #expect(plan.problems["default/lost"]?.message == "storageclass.storage.k8s.io \"gold\" not found")
        #expect(plan.problems["default/lost"]?.warning == true)
    }

    @Test("a claim gone: Delete removes its volume, Retain releases it; protection finalizers go once unused")
    func releaseAndProtection() throws {
        var deleted = try volume("d", size: "1Gi", className: "", policy: "Delete")
        deleted.spec?.claimRef = ObjectReference(kind: "PersistentVolumeClaim", namespace: "default", name: "gone", uid: "uid-gone")
        deleted.status = PersistentVolumeStatus(phase: "Bound")
        var retained = try volume("r", size: "1Gi", className: "")
        retained.spec?.claimRef = ObjectReference(kind: "PersistentVolumeClaim", namespace: "default", name: "gone", uid: "uid-gone")
        retained.status = PersistentVolumeStatus(phase: "Bound")
        var used = try claim("used", size: "1Gi", className: "")
        used.metadata.deletionTimestamp = "2026-12-07T00:00:01Z"
        used.metadata.finalizers = [StorageNames.claimProtection]
        var unused = try claim("unused", size: "1Gi", className: "")
        unused.metadata.deletionTimestamp = "2026-12-07T00:00:01Z"
        unused.metadata.finalizers = [StorageNames.claimProtection]
        let plan = VolumeBindingPlanner.plan(.init(claims: [used, unused], volumes: [deleted, retained], classes: [],
                                                   pods: [try pod("p", claim: "used", node: "n1")], nodes: []))
        #expect(plan.deleteVolumes.map { $0.metadata.name } == ["d"])
        #expect(Set(plan.volumeStatuses.map { "\($0.metadata.name ?? "")=\($0.status?.phase ?? "")" }) == ["d=Released", "r=Released"])
        #expect(plan.updateClaims.map { $0.metadata.name } == ["unused"], "the claim a pod uses keeps its finalizer")
        #expect(plan.updateClaims.first?.metadata.finalizers == [])
    }

    @Test("a bound claim asking for more grows its volume only through a class that allows expansion")
    func expansion() throws {
        var made = VolumeBindingPlanner.localVolume(for: try claim("data", size: "1Gi", className: "local"), localClass(), node: "n1", directory: "/v")
        made.status = PersistentVolumeStatus(phase: "Bound")
        var bigger = try claim("data", size: "2Gi", className: "local")
        bigger.spec?.volumeName = made.metadata.name
        let plan = VolumeBindingPlanner.plan(.init(claims: [bigger], volumes: [made], classes: [localClass()], pods: [], nodes: []))
        #expect(plan.updateVolumes.first?.spec?.storage == (try Quantity(parsing: "2Gi")))
        let refused = VolumeBindingPlanner.plan(.init(claims: [bigger], volumes: [made], classes: [localClass(expand: false)], pods: [], nodes: []))
        #expect(refused.updateVolumes.isEmpty)
        #expect(refused.problems["default/data"]?.reason == "ExternalExpanding")
    }

    @Test("placement: a bound volume's node affinity and a ReadWriteOnce claim's node narrow the pod; RWOP and unbound immediate claims wait")
    func placement() throws {
        var made = VolumeBindingPlanner.localVolume(for: try claim("data", size: "1Gi", className: "local"), localClass(), node: "n1", directory: "/v")
        made.status = PersistentVolumeStatus(phase: "Bound")
        var bound = try claim("data", size: "1Gi", className: "local")
        bound.spec?.volumeName = made.metadata.name
        let pod = try pod("p", claim: "data", node: nil)
        let outcome = VolumePlacement.place(pod, claims: { _, _ in bound }, volume: { _ in made }, storageClass: { _ in localClass() }, users: { _, _ in [] })
        guard case .constrained(let narrowed) = outcome else { Issue.record("\(outcome)"); return }
        #expect(narrowed.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms.first?.matchExpressions?.first?.values == ["n1"])

        var single = try claim("one", size: "1Gi", className: "local", modes: ["ReadWriteOncePod"])
        single.spec?.volumeName = made.metadata.name
        let other = try self.pod("q", claim: "one", node: "n1")
        let blocked = VolumePlacement.place(try self.pod("p", claim: "one", node: nil), claims: { _, _ in single }, volume: { _ in made },
                                            storageClass: { _ in localClass() }, users: { _, _ in [other] })
        guard case .wait(let message) = blocked else { Issue.record("\(blocked)"); return }
        #expect(message.contains("ReadWriteOncePod"))

        let unbound = try claim("later", size: "1Gi", className: "local")
        let immediate = VolumePlacement.place(try self.pod("p", claim: "later", node: nil), claims: { _, _ in unbound }, volume: { _ in nil },
                                              storageClass: { _ in localClass("Immediate") }, users: { _, _ in [] })
        #expect(immediate == .wait("pod has unbound immediate PersistentVolumeClaims (later)"))
        let waitsForConsumer = VolumePlacement.place(try self.pod("p", claim: "later", node: nil), claims: { _, _ in unbound }, volume: { _ in nil },
                                                     storageClass: { _ in localClass() }, users: { _, _ in [] })
        #expect(waitsForConsumer == .unchanged)
    }
}
