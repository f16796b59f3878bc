import BerthCore
import BerthNetwork
import BerthRuntime
import BerthStorage
import Foundation

/// PersistentVolumeClaim volumes: the claim's bound volume, set up by its type — a
/// `berth.dev/local` image mounted, a static `local` or `hostPath` directory as it is. Types
/// this node cannot mount (no NFS or iSCSI client in this kernel, CSI without a driver) fail
/// with a message naming what the node lacks, which becomes the pod's Event.
extension PodVolumes {
    func claimPath(_ source: PersistentVolumeClaimVolumeSource, volumeName: String, pod: Pod, node: String) async throws(BerthError) -> String {
        let namespace = pod.metadata.namespace ?? "default"
        guard let claim = try await api.getIfPresent(PersistentVolumeClaim.self, "/api/v1/namespaces/\(namespace)/persistentvolumeclaims/\(source.claimName)") else {
            throw BerthError(.notFound, "volume \"\(volumeName)\": persistentvolumeclaim \"\(source.claimName)\" not found")
        }
        guard claim.status?.phase == "Bound", let boundName = claim.spec?.volumeName, !boundName.isEmpty else {
            throw BerthError(.unavailable, "volume \"\(volumeName)\": persistentvolumeclaim \"\(source.claimName)\" is not bound yet (\(claim.status?.phase ?? "Pending"))")
        }
        guard let volume = try await api.getIfPresent(PersistentVolume.self, "/api/v1/persistentvolumes/\(boundName)") else {
            throw BerthError(.notFound, "volume \"\(volumeName)\": persistentvolume \"\(boundName)\" not found")
        }
        if let pinned = VolumeBindingPlanner.pinnedNode(volume), pinned != node {
            throw BerthError(.invalid, "volume \"\(volumeName)\": persistentvolume \(boundName) lives on node \(pinned), not on \(node)")
        }
        if let gluster = volume.spec?.glusterfs { return try await glusterPath(volume, gluster, volumeName: volumeName, pod: pod, claimName: source.claimName) }
        return try await Self.hostPath(of: volume, volumeName: volumeName)
    }

    static func hostPath(of volume: PersistentVolume, volumeName: String) async throws(BerthError) -> String {
        let name = volume.metadata.name ?? ""
        guard let spec = volume.spec else { throw BerthError(.invalid, "persistentvolume \(name) has no spec") }
        if LocalVolumeImages.isOurs(volume) { return try await LocalVolumeImages.ensureMounted(volume) }
        if let local = spec.local {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: local.path, isDirectory: &isDirectory) else {
                throw BerthError(.notFound, "volume \"\(volumeName)\": local path \(local.path) of persistentvolume \(name) does not exist on this node")
            }
            return local.path
        }
        if let hostPath = spec.hostPath {
            try prepareHostPath(hostPath)
            return hostPath.path
        }
        let type = spec.sourceTypes.first ?? "unknown"
        let lacks: String
        switch type {
        case "nfs": lacks = "an NFS client (this kernel has no NFS support)"
        case "iscsi": lacks = "an iSCSI initiator (this kernel has no iSCSI support)"
        case "csi": lacks = "the CSI driver \"\(spec.csi?["driver"]?.stringValue ?? "")\" (Berth runs no CSI drivers)"
        default: lacks = "support for \(type) volumes"
        }
        throw BerthError(.invalid, "volume \"\(volumeName)\": persistentvolume \(name) is of type \(type), and this node lacks \(lacks)")
    }

    /// A GlusterFS volume through the FUSE client, mounted once per node under the agent's data
    /// directory. A single-writer volume is mounted only once every other node whose pod used
    /// it has been fenced (the storage agent revoked its client access), and not while this
    /// node itself is fenced.
    func glusterPath(_ volume: PersistentVolume, _ source: GlusterfsPersistentVolumeSource, volumeName: String, pod: Pod, claimName: String) async throws(BerthError) -> String {
        let name = volume.metadata.name ?? ""
        if GlusterPlan.isSingleWriter(volume) {
            let namespace = pod.metadata.namespace ?? "default"
            let listed = try await api.get(JSONValue.self, "/api/v1/namespaces/\(namespace)/pods")
            let users = (listed["items"]?.arrayValue ?? []).compactMap { try? $0.decode(Pod.self) }
                .filter { $0.spec?.volumes?.contains(where: { $0.persistentVolumeClaim?.claimName == claimName }) == true && !PodVolumes.isFinished($0) }
            if GlusterPlan.fenced(volume).contains(nodeName) {
                throw BerthError(.unavailable, "volume \"\(volumeName)\": this node is fenced from GlusterFS volume \(source.path); waiting for the storage agent to let it back")
            }
            if let holder = GlusterPlan.unfencedHolder(volume, users: users, node: nodeName) {
                throw BerthError(.unavailable, "volume \"\(volumeName)\": persistentvolume \(name) is ReadWriteOnce and still used on node \(holder); waiting for that pod to stop or that node to be fenced")
            }
        }
        return try await GlusterMount.ensure(source, under: glusterMounts, api: api, volumeName: volumeName)
    }
}
