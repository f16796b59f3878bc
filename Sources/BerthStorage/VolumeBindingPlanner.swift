import BerthCore
import Foundation

/// What the volume controller writes, in order: volumes created, volume specs (claim
/// references, finalizers, capacity), volume statuses, claim specs (`volumeName`, finalizers),
/// claim statuses, volumes deleted. Problems are why a claim waits, for its Events.
public struct VolumeBindingPlan: Sendable {
    public var create: [PersistentVolume] = []
    public var updateVolumes: [PersistentVolume] = []
    public var volumeStatuses: [PersistentVolume] = []
    public var updateClaims: [PersistentVolumeClaim] = []
    public var claimStatuses: [PersistentVolumeClaim] = []
    public var deleteVolumes: [PersistentVolume] = []
    /// `namespace/name` of a claim → (reason, message, warning?).
    public var problems: [String: VolumeProblem] = [:]
}

public struct VolumeProblem: Error, Sendable, Equatable {
    public var reason: String
    public var message: String
    public var warning: Bool
}

/// Binds claims to volumes as Kubernetes' PersistentVolume controller does, provisions volumes
/// for claims of Berth's own classes, releases and reclaims volumes whose claims are gone, grows
/// volumes whose claims ask for more, and lets protected claims and volumes go once unused.
/// Pure: every input is a snapshot, every write an output.
public enum VolumeBindingPlanner {
    /// Node annotation where an agent says where its local volumes live.
    public static let localDirectoryAnnotation = "storage.berth.dev/local-volume-dir"

    public struct Input: Sendable {
        public var claims: [PersistentVolumeClaim]
        public var volumes: [PersistentVolume]
        public var classes: [StorageClass]
        public var pods: [Pod]
        public var nodes: [Node]
        /// For claims restored from a snapshot (`dataSource`).
        public var snapshots: [VolumeSnapshot]
        public var contents: [VolumeSnapshotContent]
        public init(claims: [PersistentVolumeClaim], volumes: [PersistentVolume], classes: [StorageClass], pods: [Pod], nodes: [Node],
                    snapshots: [VolumeSnapshot] = [], contents: [VolumeSnapshotContent] = []) {
            self.claims = claims
            self.volumes = volumes
            self.classes = classes
            self.pods = pods
            self.nodes = nodes
            self.snapshots = snapshots
            self.contents = contents
        }
    }

    public static func key(_ claim: PersistentVolumeClaim) -> String { "\(claim.metadata.namespace ?? "")/\(claim.metadata.name ?? "")" }

    public static func plan(_ input: Input) -> VolumeBindingPlan {
        var plan = VolumeBindingPlan()
        let classes = Dictionary(input.classes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        var volumes = Dictionary(input.volumes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let claimsByKey = Dictionary(input.claims.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        let users = claimUsers(input.pods)
        var taken: Set<String> = []

        for claim in input.claims.sorted(by: { ($0.metadata.creationTimestamp ?? "", key($0)) < ($1.metadata.creationTimestamp ?? "", key($1)) }) {
            let claimKey = key(claim)
            if let name = claim.spec?.volumeName, !name.isEmpty {
                taken.insert(name)
                guard var volume = volumes[name] else {
                    if claim.status?.phase == "Bound" {
                        plan.claimStatuses.append(withStatus(claim, phase: "Lost", volume: nil))
                        plan.problems[claimKey] = VolumeProblem(reason: "ClaimLost", message: "Bound claim has lost its PersistentVolume \(name). Data on the volume is lost!", warning: true)
                    } else {
                        plan.problems[claimKey] = VolumeProblem(reason: "VolumeNotFound", message: "volume \"\(name)\" not found", warning: true)
                    }
                    continue
                }
                if volume.spec?.claimRef == nil {
                    volume.spec?.claimRef = reference(to: claim)
                    volumes[name] = volume
                    plan.updateVolumes.append(volume)
                    continue
                }
                guard refers(volume.spec?.claimRef, to: claim) else {
                    plan.problems[claimKey] = VolumeProblem(reason: "FailedBinding", message: "volume \"\(name)\" is already bound to a different claim", warning: true)
                    continue
                }
                if grows(claim, volume: volume, classes: classes) {
                    volume.spec?.capacity?["storage"] = claim.requestedStorage
                    volumes[name] = volume
                    plan.updateVolumes.append(volume)
                } else if let request = claim.requestedStorage, let capacity = volume.spec?.storage, request > capacity, volume.status?.phase == "Bound" {
                    plan.problems[claimKey] = VolumeProblem(reason: "ExternalExpanding", message: "the claim asks for \(request) but its volume has \(capacity) and cannot grow: only volumes of a class with allowVolumeExpansion that Berth provisioned can", warning: true)
                }
                let bound = withStatus(claim, phase: "Bound", volume: volume)
                if bound.status != claim.status { plan.claimStatuses.append(bound) }
                continue
            }
            // Unbound: a volume already reserved for it (provisioned or pre-bound) first.
            if let reserved = input.volumes.first(where: { refers($0.spec?.claimRef, to: claim) && !taken.contains($0.metadata.name ?? "") }) {
                taken.insert(reserved.metadata.name ?? "")
                var updated = claim
                updated.spec?.volumeName = reserved.metadata.name
                var annotations = updated.metadata.annotations ?? [:]
                annotations[StorageNames.boundByController] = "yes"
                updated.metadata.annotations = annotations
                plan.updateClaims.append(updated)
                continue
            }
            guard claim.metadata.deletionTimestamp == nil else { continue }
            let className = claim.spec?.storageClassName ?? ""
            if let match = bestStaticMatch(for: claim, className: className, volumes: input.volumes, taken: taken) {
                taken.insert(match.metadata.name ?? "")
                var volume = match
                volume.spec?.claimRef = reference(to: claim)
                volumes[match.metadata.name ?? ""] = volume
                plan.updateVolumes.append(volume)
                continue
            }
            if className.isEmpty {
                plan.problems[claimKey] = VolumeProblem(reason: "FailedBinding", message: "no persistent volumes available for this claim and no storage class is set", warning: false)
                continue
            }
            guard let storageClass = classes[className] else {
                plan.problems[claimKey] = VolumeProblem(reason: "ProvisioningFailed", message: "storageclass.storage.k8s.io \"\(className)\" not found", warning: true)
                continue
            }
            var restore: (node: String, path: String)?
            if let source = claim.spec?.dataSource {
                switch snapshotSource(source, claim: claim, storageClass, input) {
                case .success(let found): restore = found
                case .failure(let problem):
                    plan.problems[claimKey] = problem
                    continue
                }
            }
            switch storageClass.provisioner {
            case StorageNames.localProvisioner:
                // A restored volume is made where its snapshot's data is.
                let choice = restore.map { found in input.nodes.first { $0.metadata.name == found.node }.map(NodeChoice.node)
                    ?? .none("node \(found.node), which holds the snapshot, is gone") } ?? localNode(for: claim, storageClass, input)
                switch choice {
                case .node(let node):
                    guard let directory = node.metadata.annotations?[localDirectoryAnnotation] else {
                        plan.problems[claimKey] = VolumeProblem(reason: "ProvisioningFailed", message: "node \(node.metadata.name ?? "") does not publish a local volume directory (annotation \(localDirectoryAnnotation)); is its agent running?", warning: true)
                        continue
                    }
                    var volume = localVolume(for: claim, storageClass, node: node.metadata.name ?? "", directory: directory)
                    if let restore { volume.metadata.annotations?[SnapshotPlanner.restoreAnnotation] = restore.path }
                    plan.create.append(volume)
                case .waiting(let message):
                    plan.problems[claimKey] = VolumeProblem(reason: "WaitForFirstConsumer", message: message, warning: false)
                case .none(let message):
                    plan.problems[claimKey] = VolumeProblem(reason: "ProvisioningFailed", message: message, warning: true)
                }
            case StorageNames.glusterProvisioner:
                // The storage agents make these (they run the GlusterFS CLI); say which one.
                let servers = GlusterPlan.servers(storageClass.parameters?["servers"])
                if let actor = GlusterPlan.actor(servers: servers, nodes: input.nodes) {
                    plan.problems[claimKey] = VolumeProblem(reason: "ExternalProvisioning", message: "waiting for the GlusterFS volume to be created by the storage agent on node \(actor)", warning: false)
                } else {
                    plan.problems[claimKey] = VolumeProblem(reason: "ProvisioningFailed", message: "none of the GlusterFS servers \(servers.joined(separator: ", ")) is a Ready node labelled \(GlusterPlan.storageLabel)=true", warning: true)
                }
            default:
                plan.problems[claimKey] = VolumeProblem(reason: "ExternalProvisioning", message: "waiting for a volume to be created by the external provisioner \"\(storageClass.provisioner)\"; Berth provisions \(StorageNames.localProvisioner)", warning: false)
            }
        }

        for volume in volumes.values.sorted(by: { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }) {
            let phase: String
            if let reference = volume.spec?.claimRef {
                let claim = claimsByKey["\(reference.namespace ?? "")/\(reference.name ?? "")"]
                phase = claim.map { reference.uid == nil || reference.uid == $0.metadata.uid } == true ? "Bound" : "Released"
            } else {
                phase = "Available"
            }
            if phase == "Released", volume.spec?.persistentVolumeReclaimPolicy == "Delete", volume.metadata.deletionTimestamp == nil {
                plan.deleteVolumes.append(volume)
            }
            if volume.status?.phase != phase {
                var updated = volume
                updated.status = PersistentVolumeStatus(phase: phase)
                updated.status?.lastPhaseTransitionTime = TableCells.formatTimestamp(Date())
                plan.volumeStatuses.append(updated)
            }
            if volume.metadata.deletionTimestamp != nil, phase != "Bound", volume.metadata.finalizers?.contains(StorageNames.volumeProtection) == true {
                var updated = volume
                updated.metadata.finalizers?.removeAll { $0 == StorageNames.volumeProtection }
                plan.updateVolumes.removeAll { $0.metadata.name == volume.metadata.name }
                plan.updateVolumes.append(updated)
            }
        }

        for claim in input.claims where claim.metadata.deletionTimestamp != nil && claim.metadata.finalizers?.contains(StorageNames.claimProtection) == true {
            guard users[key(claim), default: []].isEmpty else { continue }
            var updated = claim
            updated.metadata.finalizers?.removeAll { $0 == StorageNames.claimProtection }
            plan.updateClaims.removeAll { key($0) == key(claim) }
            plan.updateClaims.append(updated)
        }
        return plan
    }

    /// Where a claim's snapshot data is (`NODE`, `PATH`), or why the claim waits.
    static func snapshotSource(_ source: TypedLocalObjectReference, claim: PersistentVolumeClaim, _ storageClass: StorageClass,
                               _ input: Input) -> Result<(node: String, path: String), VolumeProblem> {
        guard source.kind == "VolumeSnapshot" else {
            return .failure(VolumeProblem(reason: "ProvisioningFailed", message: "cloning from \(source.kind) \"\(source.name)\" is not supported; restore from a VolumeSnapshot", warning: true))
        }
        guard let snapshot = input.snapshots.first(where: { $0.metadata.namespace == claim.metadata.namespace && $0.metadata.name == source.name }) else {
            return .failure(VolumeProblem(reason: "ProvisioningFailed", message: "volumesnapshot \"\(source.name)\" not found", warning: true))
        }
        let content = input.contents.first { $0.metadata.name == snapshot.status?.boundVolumeSnapshotContentName }
        guard snapshot.status?.readyToUse == true, let content, let handle = SnapshotPlanner.handle(content.status?.snapshotHandle) else {
            return .failure(VolumeProblem(reason: "ProvisioningFailed", message: "waiting for volumesnapshot \"\(source.name)\" to be ready to use", warning: false))
        }
        guard content.spec?.driver == storageClass.provisioner else {
            return .failure(VolumeProblem(reason: "ProvisioningFailed", message: "volumesnapshot \"\(source.name)\" was taken by \(content.spec?.driver ?? "?"); class \(storageClass.metadata.name ?? "") restores only \(storageClass.provisioner) snapshots", warning: true))
        }
        if let size = content.status?.restoreSize, let request = claim.requestedStorage, request.value < size {
            return .failure(VolumeProblem(reason: "ProvisioningFailed", message: "the claim asks for \(request), less than the snapshot's \(Quantity(integer: size, format: .binarySI))", warning: true))
        }
        return .success(handle)
    }

    /// The pods (not finished) that use each claim, by `namespace/claim`.
    public static func claimUsers(_ pods: [Pod]) -> [String: [Pod]] {
        var users: [String: [Pod]] = [:]
        for pod in pods where pod.status?.phase != "Succeeded" && pod.status?.phase != "Failed" {
            for volume in pod.spec?.volumes ?? [] {
                guard let claim = volume.persistentVolumeClaim?.claimName else { continue }
                users["\(pod.metadata.namespace ?? "")/\(claim)", default: []].append(pod)
            }
        }
        return users
    }

    public static func reference(to claim: PersistentVolumeClaim) -> ObjectReference {
        var reference = ObjectReference(kind: "PersistentVolumeClaim", namespace: claim.metadata.namespace, name: claim.metadata.name,
                                        uid: claim.metadata.uid, apiVersion: "v1")
        reference.resourceVersion = claim.metadata.resourceVersion
        return reference
    }

    static func refers(_ reference: ObjectReference?, to claim: PersistentVolumeClaim) -> Bool {
        guard let reference else { return false }
        return reference.namespace == claim.metadata.namespace && reference.name == claim.metadata.name
            && (reference.uid == nil || reference.uid == claim.metadata.uid)
    }

    /// Whether the volume should grow to what the claim now asks: only volumes Berth provisioned,
    /// of a class that allows expansion.
    static func grows(_ claim: PersistentVolumeClaim, volume: PersistentVolume, classes: [String: StorageClass]) -> Bool {
        guard let request = claim.requestedStorage, let capacity = volume.spec?.storage, request > capacity,
              [StorageNames.localProvisioner, StorageNames.glusterProvisioner].contains(volume.metadata.annotations?[StorageNames.provisionedBy] ?? ""),
              let storageClass = classes[volume.spec?.storageClassName ?? ""], storageClass.allowVolumeExpansion == true else { return false }
        return true
    }

    static func withStatus(_ claim: PersistentVolumeClaim, phase: String, volume: PersistentVolume?) -> PersistentVolumeClaim {
        var updated = claim
        var status = claim.status ?? PersistentVolumeClaimStatus()
        status.phase = phase
        if let volume {
            status.accessModes = volume.spec?.accessModes
            status.capacity = volume.spec?.storage.map { ["storage": $0] }
        }
        updated.status = status
        return updated
    }

    /// The smallest Available volume of the claim's class that is large enough, offers every
    /// access mode the claim asks for and matches its selector.
    static func bestStaticMatch(for claim: PersistentVolumeClaim, className: String, volumes: [PersistentVolume], taken: Set<String>) -> PersistentVolume? {
        let request = claim.requestedStorage ?? Quantity(integer: 0)
        let modes = Set(claim.spec?.accessModes ?? [])
        let selector = claim.spec?.selector.flatMap { try? LabelSelector($0) }
        return volumes.filter { volume in
            guard volume.spec?.claimRef == nil, volume.metadata.deletionTimestamp == nil, !taken.contains(volume.metadata.name ?? ""),
                  (volume.spec?.storageClassName ?? "") == className, let capacity = volume.spec?.storage, capacity >= request,
                  modes.isSubset(of: Set(volume.spec?.accessModes ?? [])) else { return false }
            if claim.spec?.selector != nil { return selector?.matches(volume.metadata.labels ?? [:]) == true }
            return true
        }.min { ($0.spec?.storage ?? request, $0.metadata.name ?? "") < ($1.spec?.storage ?? request, $1.metadata.name ?? "") }
    }

    enum NodeChoice { case node(Node), waiting(String), none(String) }

    /// Where a local volume is made: the node the claim's first pod was scheduled to
    /// (WaitForFirstConsumer), or for Immediate classes the Ready node holding the fewest.
    static func localNode(for claim: PersistentVolumeClaim, _ storageClass: StorageClass, _ input: Input) -> NodeChoice {
        let byName = Dictionary(input.nodes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        if let selected = claim.metadata.annotations?[StorageNames.selectedNode], let node = byName[selected] { return .node(node) }
        if storageClass.waitsForFirstConsumer {
            let users = claimUsers(input.pods)[key(claim)] ?? []
            if let scheduled = users.compactMap({ $0.spec?.nodeName }).first(where: { !$0.isEmpty }), let node = byName[scheduled] { return .node(node) }
            return .waiting("waiting for first consumer to be created before binding")
        }
        var held: [String: Int] = [:]
        for volume in input.volumes { if let node = pinnedNode(volume) { held[node, default: 0] += 1 } }
        let ready = input.nodes.filter { node in
            node.metadata.annotations?[localDirectoryAnnotation] != nil
                && node.status?.conditions?.contains(where: { $0.type == "Ready" && $0.status == "True" }) == true
        }
        guard let node = ready.min(by: { (held[$0.metadata.name ?? ""] ?? 0, $0.metadata.name ?? "") < (held[$1.metadata.name ?? ""] ?? 0, $1.metadata.name ?? "") }) else {
            return .none("no Ready node offers local volumes")
        }
        return .node(node)
    }

    /// The node a volume's affinity pins it to (`kubernetes.io/hostname In [NODE]`), if one.
    public static func pinnedNode(_ volume: PersistentVolume) -> String? {
        guard let terms = volume.spec?.nodeAffinity?.required?.nodeSelectorTerms, terms.count == 1 else { return nil }
        let requirement = terms[0].matchExpressions?.first { $0.key == "kubernetes.io/hostname" && $0.operator == "In" }
        guard let values = requirement?.values, values.count == 1 else { return nil }
        return values[0]
    }

    /// The volume `berth.dev/local` provisions for a claim: named after the claim's UID,
    /// pinned to the node, its data in the node's local volume directory.
    static func localVolume(for claim: PersistentVolumeClaim, _ storageClass: StorageClass, node: String, directory: String) -> PersistentVolume {
        let name = "pvc-\(claim.metadata.uid ?? UUID().uuidString.lowercased())"
        var metadata = ObjectMeta(name: name, annotations: [StorageNames.provisionedBy: StorageNames.localProvisioner])
        if let fsType = storageClass.parameters?["fsType"] { metadata.annotations?["storage.berth.dev/fs-type"] = fsType }
        metadata.finalizers = [StorageNames.volumeProtection, StorageNames.provisionerCleanup]
        var spec = PersistentVolumeSpec()
        spec.capacity = ["storage": claim.requestedStorage ?? Quantity(integer: 1 << 30)]
        spec.accessModes = claim.spec?.accessModes
        spec.persistentVolumeReclaimPolicy = storageClass.reclaimPolicy ?? "Delete"
        spec.storageClassName = storageClass.metadata.name
        spec.claimRef = reference(to: claim)
        spec.volumeMode = "Filesystem"
        spec.mountOptions = storageClass.mountOptions
        spec.local = LocalVolumeSource(path: "\(directory)/\(name)", fsType: storageClass.parameters?["fsType"] ?? "ext4")
        let term = NodeSelectorTerm(matchExpressions: [NodeSelectorRequirement(key: "kubernetes.io/hostname", operator: "In", values: [node])])
        spec.nodeAffinity = VolumeNodeAffinity(required: NodeSelector(nodeSelectorTerms: [term]))
        return PersistentVolume(metadata: metadata, spec: spec)
    }
}
