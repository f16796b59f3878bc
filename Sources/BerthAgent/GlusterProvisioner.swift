import BerthCore
import BerthRuntime
import BerthStorage
import Foundation
import Logging

/// The storage agent's loop (nodes labelled `storage.berth.dev/glusterfs=true`): keeps glusterd
/// running, and — where this node is the acting server of a class or a volume (the first Ready
/// one listed) — creates a replicated GlusterFS volume per claim with its size as a quota, grows
/// the quota when the claim grows, fences nodes lost while they used a ReadWriteOnce volume
/// (`auth.reject` of their address: their client is cut off at once) and lets them back, and
/// deletes volumes released with reclaim Delete. Every agent of a storage node removes its
/// bricks of volumes that no longer exist. Reads the API every two seconds.
struct GlusterProvisioner: Sendable {
    let api: AgentAPI
    let daemon: GlusterDaemon
    let node: String
    let logger: Logger
    /// The quota last set per volume, so an unchanged size is not set again.
    static let quotaAnnotation = "storage.berth.dev/quota"

    func run() async {
        var lastBrickSweep = ContinuousClock.now
        while !Task.isCancelled {
            do throws(BerthError) {
                if try await isStorageNode() {
                    try await daemon.ensureRunning()
                    try await pass()
                    if ContinuousClock.now - lastBrickSweep > .seconds(30) {
                        lastBrickSweep = .now
                        await sweepBricks()
                    }
                }
            } catch {
                logger.warning("GlusterFS storage pass failed", metadata: ["error": "\(error.message)"])
            }
            try? await Task.sleep(for: .seconds(2))
        }
    }

    private func isStorageNode() async throws(BerthError) -> Bool {
        let me = try await api.get(Node.self, "/api/v1/nodes/\(node)")
        return me.metadata.labels?[GlusterPlan.storageLabel] == "true"
    }

    private func pass() async throws(BerthError) {
        let classes = try await api.list(StorageClass.self, "/apis/storage.k8s.io/v1/storageclasses").filter { $0.provisioner == StorageNames.glusterProvisioner }
        let volumes = try await api.list(PersistentVolume.self, "/api/v1/persistentvolumes")
        let ours = volumes.filter { $0.metadata.annotations?[StorageNames.provisionedBy] == StorageNames.glusterProvisioner }
        if classes.isEmpty && ours.isEmpty { return }
        let nodes = try await api.list(Node.self, "/api/v1/nodes")
        let claims = try await api.list(PersistentVolumeClaim.self, "/api/v1/persistentvolumeclaims")
        let reserved = Set(volumes.compactMap { $0.spec?.claimRef?.uid })
        let me = nodes.first { $0.metadata.name == node }
        for storageClass in classes {
            let servers = GlusterPlan.servers(storageClass.parameters?["servers"])
            // glusterd creates a brick's own directory, not its parents: each server keeps its
            // directory of bricks ready.
            if let me, servers.contains(where: { GlusterPlan.node(for: $0, in: [me]) != nil }) {
                try PodVolumes.makeDirectory((storageClass.parameters?["brickDir"] ?? GlusterPlan.defaultBrickDirectory) + "/" + node, mode: 0o755)
            }
            guard GlusterPlan.actor(servers: servers, nodes: nodes) == node else { continue }
            for claim in claims where claim.spec?.storageClassName == storageClass.metadata.name && (claim.spec?.volumeName ?? "").isEmpty
                && claim.metadata.deletionTimestamp == nil && !reserved.contains(claim.metadata.uid ?? "") {
                do throws(BerthError) {
                    try await provision(claim, storageClass, servers: servers, nodes: nodes)
                } catch {
                    logger.warning("GlusterFS provisioning failed", metadata: ["claim": "\(VolumeBindingPlanner.key(claim))", "error": "\(error.message)"])
                }
            }
        }
        let pods = ours.contains(where: GlusterPlan.isSingleWriter) ? try await api.list(Pod.self, "/api/v1/pods") : []
        for volume in ours {
            guard GlusterPlan.actor(servers: GlusterPlan.servers(volume.spec?.glusterfs?.endpoints), nodes: nodes) == node else { continue }
            do throws(BerthError) {
                try await maintain(volume, pods: pods, nodes: nodes)
            } catch {
                logger.warning("GlusterFS volume upkeep failed", metadata: ["volume": "\(volume.metadata.name ?? "")", "error": "\(error.message)"])
            }
        }
    }

    private func provision(_ claim: PersistentVolumeClaim, _ storageClass: StorageClass, servers: [String], nodes: [Node]) async throws(BerthError) {
        let name = GlusterPlan.volumeName(for: claim)
        let brickDirectory = storageClass.parameters?["brickDir"] ?? GlusterPlan.defaultBrickDirectory
        guard let bricks = GlusterPlan.bricks(volume: name, servers: servers, nodes: nodes, brickDirectory: brickDirectory) else {
            throw BerthError(.unavailable, "a server of class \(storageClass.metadata.name ?? "") is not a node with an address")
        }
        let replica = Int(storageClass.parameters?["replica"] ?? "") ?? min(bricks.count, 2)
        guard replica <= bricks.count else { throw BerthError(.invalid, "class \(storageClass.metadata.name ?? "") asks for \(replica) copies of \(bricks.count) servers") }
        // Whole replica sets only: 3 servers at replica 2 use the first 2.
        let used = Array(bricks.prefix(bricks.count / replica * replica))
        for brick in used.dropFirst() {
            let address = String(brick.prefix { $0 != ":" })
            _ = try? await daemon.cli(["peer", "probe", address])
        }
        if (try? await daemon.cli(["volume", "info", name])) == nil {
            var create = ["volume", "create", name]
            if replica > 1 { create += ["replica", String(replica)] }
            // `force`: bricks may sit on the root filesystem, and test servers share one disk.
            _ = try await daemon.cli(create + used + ["force"])
            // Two copies cannot outvote each other: without this a replica 2 volume turns
            // read-only when its first brick's server is lost. A short ping timeout lets
            // clients notice a lost server in seconds (the default is 42).
            for (key, value) in [("network.ping-timeout", "5"), ("cluster.quorum-type", replica == 2 ? "none" : "auto")] {
                _ = try await daemon.cli(["volume", "set", name, key, value])
            }
        }
        _ = try? await daemon.cli(["volume", "start", name])
        let size = claim.requestedStorage ?? Quantity(integer: 1 << 30)
        try await setQuota(name, bytes: size.value)
        if let source = claim.spec?.dataSource { try await restore(source, claim: claim, into: name, servers: servers) }
        var volume = GlusterPlan.persistentVolume(for: claim, storageClass, volume: name, servers: servers)
        volume.metadata.annotations?[Self.quotaAnnotation] = String(size.value)
        _ = try await api.create("/api/v1/persistentvolumes", volume)
        logger.info("GlusterFS volume provisioned", metadata: ["volume": "\(name)", "claim": "\(VolumeBindingPlanner.key(claim))", "bricks": "\(used.joined(separator: " "))"])
    }

    /// Fills a new volume from a snapshot archive this node holds (a tar of the files).
    private func restore(_ source: TypedLocalObjectReference, claim: PersistentVolumeClaim, into name: String, servers: [String]) async throws(BerthError) {
        guard source.kind == "VolumeSnapshot" else { throw BerthError(.invalid, "cloning from \(source.kind) is not supported; restore from a VolumeSnapshot") }
        let namespace = claim.metadata.namespace ?? "default"
        guard let snapshot = try await api.getIfPresent(VolumeSnapshot.self, "/apis/snapshot.storage.k8s.io/v1/namespaces/\(namespace)/volumesnapshots/\(source.name)"),
              snapshot.status?.readyToUse == true, let contentName = snapshot.status?.boundVolumeSnapshotContentName,
              let content = try await api.getIfPresent(VolumeSnapshotContent.self, "\(SnapshotTaker.contentsPath)/\(contentName)"),
              let handle = SnapshotPlanner.handle(content.status?.snapshotHandle) else {
            throw BerthError(.unavailable, "waiting for volumesnapshot \(namespace)/\(source.name) to be ready to use")
        }
        guard handle.node == node else { throw BerthError(.unavailable, "the snapshot's data is on node \(handle.node), not on this acting server \(node)") }
        let mount = try await GlusterMount.ensure(GlusterfsPersistentVolumeSource(endpoints: servers.joined(separator: ","), path: name), under: daemon.mounts, api: api)
        let unpacked = try await Subprocess.run("/usr/bin/tar", ["-C", mount, "-xf", handle.path])
        guard unpacked.succeeded else { throw BerthError(.internalError, "restoring \(name) from \(handle.path) failed: \(unpacked.errorText)") }
    }

    /// The volume's size as a hard quota on its root, enforced at once (no soft/hard timeouts)
    /// and shown by `df` (deem-statfs).
    private func setQuota(_ name: String, bytes: Int64) async throws(BerthError) {
        _ = try? await daemon.cli(["volume", "quota", name, "enable"])
        _ = try await daemon.cli(["volume", "quota", name, "limit-usage", "/", "\(bytes)B"])
        for option in [["hard-timeout", "0"], ["soft-timeout", "0"]] { _ = try await daemon.cli(["volume", "quota", name] + option) }
        _ = try await daemon.cli(["volume", "set", name, "features.quota-deem-statfs", "on"])
    }

    private func maintain(_ volume: PersistentVolume, pods: [Pod], nodes: [Node]) async throws(BerthError) {
        let name = volume.spec?.glusterfs?.path ?? ""
        let path = "/api/v1/persistentvolumes/\(volume.metadata.name ?? "")"
        if volume.metadata.deletionTimestamp != nil {
            guard volume.metadata.finalizers == [StorageNames.provisionerCleanup] else { return }
            _ = try? await daemon.cli(["volume", "stop", name, "force"])
            if (try? await daemon.cli(["volume", "info", name])) != nil { _ = try await daemon.cli(["volume", "delete", name]) }
            _ = try await api.mergePatch(path, ["metadata": ["finalizers": .null, "resourceVersion": .string(volume.metadata.resourceVersion ?? "")]])
            await sweepBricks()
            logger.info("GlusterFS volume deleted (reclaim Delete)", metadata: ["volume": "\(name)"])
            return
        }
        if let capacity = volume.spec?.storage?.value, volume.metadata.annotations?[Self.quotaAnnotation] != String(capacity) {
            try await setQuota(name, bytes: capacity)
            _ = try await api.mergePatch(path, ["metadata": ["annotations": .object([Self.quotaAnnotation: .string(String(capacity))])]])
        }
        guard let reference = volume.spec?.claimRef else { return }
        let users = pods.filter { pod in
            pod.metadata.namespace == reference.namespace && pod.spec?.volumes?.contains(where: { $0.persistentVolumeClaim?.claimName == reference.name }) == true
        }
        let decision = GlusterPlan.fencing(volume, users: users, nodes: nodes)
        guard !decision.fence.isEmpty || !decision.release.isEmpty else { return }
        let fenced = Set(GlusterPlan.fenced(volume)).union(decision.fence).subtracting(decision.release).sorted()
        let byName = Dictionary(nodes.map { ($0.metadata.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        let addresses = fenced.compactMap { byName[$0].flatMap(GlusterPlan.address) }
        if addresses.isEmpty {
            _ = try await daemon.cli(["volume", "reset", name, "auth.reject"])
        } else {
            _ = try await daemon.cli(["volume", "set", name, "auth.reject", addresses.joined(separator: ",")])
        }
        // Recorded only once GlusterFS enforces it: the replacement pod's node waits for it.
        _ = try await api.mergePatch(path, ["metadata": ["annotations": .object([GlusterPlan.fencedAnnotation: fenced.isEmpty ? .null : .string(fenced.joined(separator: ","))])]])
        logger.notice("GlusterFS fencing changed", metadata: ["volume": "\(name)", "fenced": "\(fenced)", "released": "\(decision.release)"])
    }

    /// Removes this node's bricks of volumes GlusterFS no longer has (deleted on another server).
    private func sweepBricks() async {
        guard let listing = try? await daemon.cli(["volume", "list"]) else { return }
        let live = Set(listing.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        guard let classes = try? await api.list(StorageClass.self, "/apis/storage.k8s.io/v1/storageclasses") else { return }
        let directories = Set(classes.filter { $0.provisioner == StorageNames.glusterProvisioner }.map { ($0.parameters?["brickDir"] ?? GlusterPlan.defaultBrickDirectory) + "/" + node })
        for directory in directories {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where entry.hasPrefix("pvc-") && !live.contains(entry) {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(entry)")
                logger.info("removed the brick of a deleted GlusterFS volume", metadata: ["brick": "\(directory)/\(entry)"])
            }
        }
    }
}
