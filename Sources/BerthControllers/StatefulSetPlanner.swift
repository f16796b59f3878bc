import BerthCore
import Foundation

/// What a StatefulSet needs next: claims from its templates before the pods that mount them,
/// pods `NAME-N` created in order (OrderedReady: one at a time, each after the one before is
/// Running and Ready; Parallel: all at once), removed from the highest ordinal down, failed
/// pods replaced, and a rolling update that replaces the highest outdated pod at or above
/// `partition` once every pod is Ready. Pure.
public struct StatefulSetPlan: Sendable, Equatable {
    public var createClaims: [PersistentVolumeClaim] = []
    /// Claims that gain an owner reference to the set (retention `whenDeleted: Delete`).
    public var adoptClaims: [PersistentVolumeClaim] = []
    public var deleteClaims: [PersistentVolumeClaim] = []
    /// Ordinals to create pods for.
    public var create: [Int] = []
    public var delete: [Pod] = []
    public var status: StatefulSetStatus
}

public enum StatefulSetPlanner {
    public static let podNameLabel = "statefulset.kubernetes.io/pod-name"
    public static let podIndexLabel = "apps.kubernetes.io/pod-index"

    public static func revisionName(_ set: StatefulSet) -> String {
        (set.metadata.name ?? "statefulset") + "-" + DeploymentRevisions.templateHash(set.spec?.template ?? PodTemplateSpec(), collisionCount: set.status?.collisionCount)
    }

    /// The ordinal of a pod named `SET-N`, nil for a name that is not one of the set's.
    public static func ordinal(of pod: Pod, in set: StatefulSet) -> Int? {
        let prefix = (set.metadata.name ?? "") + "-"
        guard let name = pod.metadata.name, name.hasPrefix(prefix), let value = Int(name.dropFirst(prefix.count)), value >= 0 else { return nil }
        return value
    }

    public static func claimName(template: String, set: StatefulSet, ordinal: Int) -> String { "\(template)-\(set.metadata.name ?? "")-\(ordinal)" }

    public static func plan(_ set: StatefulSet, pods: [Pod], claims: [PersistentVolumeClaim], now: Date) -> StatefulSetPlan {
        let spec = set.spec
        let replicas = Int(spec?.replicas ?? 1)
        let start = Int(spec?.ordinals?.start ?? 0)
        let desired = start..<(start + replicas)
        let parallel = spec?.podManagementPolicy == "Parallel"
        let updateRevision = revisionName(set)
        let currentRevision = set.status?.currentRevision ?? updateRevision
        let minReady = spec?.minReadySeconds ?? 0
        var plan = StatefulSetPlan(status: StatefulSetStatus(replicas: 0))
        let deleting = set.metadata.deletionTimestamp != nil

        var byOrdinal: [Int: Pod] = [:]
        for pod in pods {
            guard let ordinal = ordinal(of: pod, in: set) else { continue }
            byOrdinal[ordinal] = pod
        }
        let claimsByName = Dictionary(claims.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let retention = spec?.persistentVolumeClaimRetentionPolicy
        for ordinal in desired where !deleting {
            for template in spec?.volumeClaimTemplates ?? [] {
                let name = claimName(template: template.metadata.name ?? "", set: set, ordinal: ordinal)
                if let existing = claimsByName[name] {
                    if retention?.whenDeleted == "Delete", !(existing.metadata.ownerReferences ?? []).contains(where: { $0.uid == set.metadata.uid }) {
                        var adopted = existing
                        adopted.metadata.ownerReferences = (existing.metadata.ownerReferences ?? []) + [ownerReference(set, controller: true)]
                        plan.adoptClaims.append(adopted)
                    }
                } else {
                    plan.createClaims.append(newClaim(template, set: set, ordinal: ordinal))
                }
            }
        }

        // Status counts.
        var status = StatefulSetStatus(replicas: 0)
        for pod in byOrdinal.values where pod.metadata.deletionTimestamp == nil {
            status.replicas += 1
            if PodState.isReady(pod) { status.readyReplicas = (status.readyReplicas ?? 0) + 1 }
            if PodState.isAvailable(pod, minReadySeconds: minReady, now: now) { status.availableReplicas = (status.availableReplicas ?? 0) + 1 }
            let revision = pod.metadata.labels?[DaemonSetPlanner.hashLabel]
            if revision == currentRevision { status.currentReplicas = (status.currentReplicas ?? 0) + 1 }
            if revision == updateRevision { status.updatedReplicas = (status.updatedReplicas ?? 0) + 1 }
        }
        status.observedGeneration = set.metadata.generation
        status.updateRevision = updateRevision
        status.currentRevision = currentRevision
        status.collisionCount = set.status?.collisionCount
        // Every desired pod at the new revision: the rollout is complete.
        if Int(status.updatedReplicas ?? 0) == replicas, byOrdinal.count == replicas {
            status.currentRevision = updateRevision
            status.currentReplicas = status.updatedReplicas
        }
        plan.status = status
        if deleting { return plan }

        let terminating = byOrdinal.values.contains { $0.metadata.deletionTimestamp != nil }
        func healthy(_ pod: Pod) -> Bool { pod.metadata.deletionTimestamp == nil && pod.status?.phase == "Running" && PodState.isReady(pod) }

        // Failed or finished pods are replaced (deleted now, created again on a later pass).
        for (_, pod) in byOrdinal where pod.metadata.deletionTimestamp == nil && PodState.isTerminal(pod) { plan.delete.append(pod) }

        // Creation, lowest ordinal first.
        for ordinal in desired {
            if let pod = byOrdinal[ordinal] {
                if !parallel && !healthy(pod) { break }
                continue
            }
            plan.create.append(ordinal)
            if !parallel { break }
        }
        if !parallel && terminating { plan.create.removeAll() }

        // Scale down, highest ordinal first.
        let condemned = byOrdinal.filter { !desired.contains($0.key) && $0.value.metadata.deletionTimestamp == nil }.sorted { $0.key > $1.key }
        if !condemned.isEmpty {
            if parallel {
                plan.delete += condemned.map(\.value)
            } else if !terminating, byOrdinal.filter({ desired.contains($0.key) }).values.allSatisfy(healthy) {
                plan.delete.append(condemned[0].value)
            }
        }
        if retention?.whenScaled == "Delete" {
            for claim in claims {
                guard let ordinal = claimOrdinal(claim, set: set), !desired.contains(ordinal), byOrdinal[ordinal] == nil else { continue }
                plan.deleteClaims.append(claim)
            }
        }

        // Rolling update: one pod at a time, highest ordinal first, none below the partition.
        if spec?.updateStrategy?.type ?? "RollingUpdate" == "RollingUpdate", condemned.isEmpty, plan.create.isEmpty, !terminating {
            let partition = Int(spec?.updateStrategy?.rollingUpdate?.partition ?? 0)
            let current = desired.compactMap { byOrdinal[$0] }
            if current.count == replicas, current.allSatisfy(healthy) {
                let outdated = desired.reversed().filter { $0 >= partition }.compactMap { byOrdinal[$0] }
                    .first { $0.metadata.labels?[DaemonSetPlanner.hashLabel] != updateRevision }
                if let outdated { plan.delete.append(outdated) }
            }
        }
        return plan
    }

    /// The ordinal a claim of the set's templates belongs to (`TEMPLATE-SET-N`).
    static func claimOrdinal(_ claim: PersistentVolumeClaim, set: StatefulSet) -> Int? {
        let name = claim.metadata.name ?? ""
        for template in set.spec?.volumeClaimTemplates ?? [] {
            let prefix = "\(template.metadata.name ?? "")-\(set.metadata.name ?? "")-"
            if name.hasPrefix(prefix), let value = Int(name.dropFirst(prefix.count)) { return value }
        }
        return nil
    }

    static func ownerReference(_ set: StatefulSet, controller: Bool) -> OwnerReference {
        OwnerReference(apiVersion: "apps/v1", kind: "StatefulSet", name: set.metadata.name ?? "", uid: set.metadata.uid ?? "",
                       controller: controller ? true : nil, blockOwnerDeletion: controller ? true : nil)
    }

    static func newClaim(_ template: PersistentVolumeClaim, set: StatefulSet, ordinal: Int) -> PersistentVolumeClaim {
        var labels = template.metadata.labels ?? [:]
        for (key, value) in set.spec?.selector.matchLabels ?? [:] { labels[key] = value }
        var metadata = ObjectMeta(name: claimName(template: template.metadata.name ?? "", set: set, ordinal: ordinal), namespace: set.metadata.namespace,
                                  labels: labels, annotations: template.metadata.annotations)
        if set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted == "Delete" { metadata.ownerReferences = [ownerReference(set, controller: true)] }
        return PersistentVolumeClaim(metadata: metadata, spec: template.spec)
    }

    /// Pod `SET-N` from the template of `revision` (the set's own for the update revision),
    /// with its stable hostname, subdomain and claims.
    public static func newPod(_ set: StatefulSet, ordinal: Int, template: PodTemplateSpec, revision: String) -> Pod {
        let name = "\(set.metadata.name ?? "")-\(ordinal)"
        var labels = template.metadata?.labels ?? [:]
        labels[DaemonSetPlanner.hashLabel] = revision
        labels[podNameLabel] = name
        labels[podIndexLabel] = String(ordinal)
        var metadata = ObjectMeta(name: name, namespace: set.metadata.namespace, labels: labels, annotations: template.metadata?.annotations)
        metadata.ownerReferences = [ownerReference(set, controller: true)]
        var spec = template.spec ?? PodSpec(containers: [])
        spec.hostname = name
        if let service = set.spec?.serviceName, !service.isEmpty { spec.subdomain = service }
        var volumes = spec.volumes ?? []
        for claimTemplate in set.spec?.volumeClaimTemplates ?? [] {
            let volumeName = claimTemplate.metadata.name ?? ""
            var volume = Volume(name: volumeName)
            volume.persistentVolumeClaim = PersistentVolumeClaimVolumeSource(claimName: claimName(template: volumeName, set: set, ordinal: ordinal))
            volumes.removeAll { $0.name == volumeName }
            volumes.append(volume)
        }
        spec.volumes = volumes.isEmpty ? nil : volumes
        return Pod(metadata: metadata, spec: spec)
    }
}
