import BerthCore

/// The pure side of `berth.dev/glusterfs`: which storage node acts for a class or a volume, the
/// GlusterFS volume a claim gets (name, bricks, options), and fencing — which nodes must lose
/// access to a ReadWriteOnce volume (their Lease expired while their pods used it) and which may
/// have it back (Ready again, with a live pod that uses it).
public enum GlusterPlan {
    /// Nodes whose agents run glusterd and serve bricks.
    public static let storageLabel = "storage.berth.dev/glusterfs"
    /// On a glusterfs PersistentVolume: the nodes whose client access was revoked.
    public static let fencedAnnotation = "storage.berth.dev/fenced-nodes"
    public static let defaultBrickDirectory = "/var/lib/berth/bricks"

    /// `servers: "HOST[,HOST…]"`, in order.
    public static func servers(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The node a server entry names: by node name or by InternalIP.
    public static func node(for server: String, in nodes: [Node]) -> Node? {
        nodes.first { $0.metadata.name == server } ?? nodes.first { address(of: $0) == server }
    }

    public static func address(of node: Node) -> String? {
        node.status?.addresses?.first { $0.type == "InternalIP" }?.address
    }

    public static func isReady(_ node: Node) -> Bool {
        node.status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } == true
    }

    /// The storage node that runs the CLI for a set of servers: the first one that is Ready and
    /// labelled (so one agent acts, and another takes over when it is lost).
    public static func actor(servers: [String], nodes: [Node]) -> String? {
        for server in servers {
            guard let node = node(for: server, in: nodes), isReady(node), node.metadata.labels?[storageLabel] == "true" else { continue }
            return node.metadata.name
        }
        return nil
    }

    /// The GlusterFS volume of a claim: `pvc-UID` (GlusterFS allows letters, digits, '-' and '_').
    public static func volumeName(for claim: PersistentVolumeClaim) -> String { "pvc-\(claim.metadata.uid ?? "")" }

    /// One brick per server, `HOST:DIR/NODE/VOLUME` (the node's name keeps bricks of servers that
    /// share a disk apart).
    public static func bricks(volume: String, servers: [String], nodes: [Node], brickDirectory: String) -> [String]? {
        var bricks: [String] = []
        for server in servers {
            guard let node = node(for: server, in: nodes), let address = address(of: node) else { return nil }
            bricks.append("\(address):\(brickDirectory)/\(node.metadata.name ?? "")/\(volume)")
        }
        return bricks
    }

    /// The volume `berth.dev/glusterfs` made for a claim, pre-bound to it.
    public static func persistentVolume(for claim: PersistentVolumeClaim, _ storageClass: StorageClass, volume: String, servers: [String]) -> PersistentVolume {
        var metadata = ObjectMeta(name: volume, annotations: [StorageNames.provisionedBy: StorageNames.glusterProvisioner])
        metadata.finalizers = [StorageNames.volumeProtection, StorageNames.provisionerCleanup]
        var spec = PersistentVolumeSpec()
        spec.capacity = ["storage": claim.requestedStorage ?? Quantity(integer: 1 << 30)]
        spec.accessModes = claim.spec?.accessModes
        spec.persistentVolumeReclaimPolicy = storageClass.reclaimPolicy ?? "Delete"
        spec.storageClassName = storageClass.metadata.name
        spec.claimRef = VolumeBindingPlanner.reference(to: claim)
        spec.volumeMode = "Filesystem"
        spec.glusterfs = GlusterfsPersistentVolumeSource(endpoints: servers.joined(separator: ","), path: volume, readOnly: nil, endpointsNamespace: nil)
        return PersistentVolume(metadata: metadata, spec: spec)
    }

    /// Whether only one node may use the volume at a time (fencing applies).
    public static func isSingleWriter(_ volume: PersistentVolume) -> Bool {
        let modes = Set(volume.spec?.accessModes ?? [])
        return !modes.isEmpty && modes.isSubset(of: ["ReadWriteOnce", "ReadWriteOncePod"])
    }

    public static func fenced(_ volume: PersistentVolume) -> [String] {
        servers(volume.metadata.annotations?[fencedAnnotation])
    }

    /// The nodes to reject and the nodes to let back, for one single-writer volume: a node is
    /// fenced when it is not Ready and a pod on it (live or terminating) uses the claim; it is let
    /// back once Ready with a live pod of the claim scheduled to it.
    public static func fencing(_ volume: PersistentVolume, users: [Pod], nodes: [Node]) -> (fence: [String], release: [String]) {
        guard isSingleWriter(volume) else { return ([], []) }
        let byName = Dictionary(nodes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let current = Set(fenced(volume))
        var fence: Set<String> = []
        var release: Set<String> = []
        for pod in users {
            guard let name = pod.spec?.nodeName, !name.isEmpty else { continue }
            let ready = byName[name].map(isReady) ?? false
            if !ready, !current.contains(name) { fence.insert(name) }
            if ready, current.contains(name), pod.metadata.deletionTimestamp == nil, pod.status?.phase != "Succeeded", pod.status?.phase != "Failed" {
                release.insert(name)
            }
        }
        return (fence.sorted(), release.sorted())
    }

    /// Why a node may not mount a single-writer volume yet: another node holds a pod of the claim
    /// and has not been fenced.
    public static func unfencedHolder(_ volume: PersistentVolume, users: [Pod], node: String) -> String? {
        guard isSingleWriter(volume) else { return nil }
        let fencedNodes = Set(fenced(volume))
        return users.compactMap { $0.spec?.nodeName }.first { !$0.isEmpty && $0 != node && !fencedNodes.contains($0) }
    }
}
