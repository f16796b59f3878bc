import BerthClient
import BerthCore
import BerthRuntime
import BerthTestSupport
import Foundation
import Testing

/// `berth.dev/glusterfs` on three hosts, two of them storage nodes running glusterd: a claim
/// gets a replica-2 GlusterFS volume with its size as a quota; its pod runs on the third host;
/// that host is lost (its agent killed, its container and FUSE client left running, as in a
/// partition): the pod comes back on a storage host with its data, only after the lost host was
/// fenced, and the old container can no longer write; the claim grows; deleting it removes the
/// GlusterFS volume and its bricks.
@Suite("GlusterFS volumes that follow their pod", .serialized, .blockingAllowed)
struct GlusterVolumeTests {
    static func manifests(servers: String, brickDirectory: String) -> String {
        """
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata: {name: gluster}
        provisioner: berth.dev/glusterfs
        parameters: {servers: "\(servers)", replica: "2", brickDir: "\(brickDirectory)"}
        allowVolumeExpansion: true
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: shared}
        spec: {accessModes: [ReadWriteOnce], storageClassName: gluster, resources: {requests: {storage: 32Mi}}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: writer}
        spec:
          replicas: 1
          selector: {matchLabels: {app: writer}}
          template:
            metadata: {labels: {app: writer}}
            spec:
              terminationGracePeriodSeconds: 1
              affinity:
                nodeAffinity:
                  preferredDuringSchedulingIgnoredDuringExecution:
                  - weight: 100
                    preference: {matchExpressions: [{key: storage.berth.dev/glusterfs, operator: DoesNotExist}]}
              containers:
              - name: main
                image: berth/busybox:latest
                command: [sh, -c, "while true; do echo $(hostname) >> /data/log || true; sleep 0.2; done"]
                volumeMounts: [{name: data, mountPath: /data}]
              volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
        """
    }

    func json(_ cluster: ClusterFixture, _ path: String) async throws -> JSONValue { try await cluster.api().request(.GET, path).checked().json() }

    func waitFor(_ what: String, timeout: Double, _ check: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await check()) == true { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw BerthError(.timeout, "timed out waiting for \(what)")
    }

    func exec(_ cluster: ClusterFixture, _ pod: String, _ script: String) throws -> CommandResult {
        try cluster.kubectl(["exec", pod, "--", "sh", "-c", script])
    }

    @Test("provisioned, size enforced, the pod moves to another host after a host loss with its data, the lost host fenced, grown, deleted with its bricks")
    func followsItsPod() async throws {
        let cluster = try await ClusterFixture.start(hosts: 3, agentArguments: { number, _ in number <= 2 ? ["--storage-node"] : [] })
        let bricks = FileManager.default.temporaryDirectory.appendingPathComponent("berth-bricks-\(UUID().uuidString)").path
        do {
            let servers = cluster.hosts.prefix(2).map(\.address).joined(separator: ",")
            try cluster.apply(Self.manifests(servers: servers, brickDirectory: bricks))
            try await waitFor("the claim to be bound", timeout: 60) {
                try await json(cluster, "/api/v1/namespaces/default/persistentvolumeclaims/shared").value(at: ["status", "phase"]) == "Bound"
            }
            let claim = try await json(cluster, "/api/v1/namespaces/default/persistentvolumeclaims/shared")
            let volumeName = claim.value(at: ["spec", "volumeName"])?.stringValue ?? ""
            let volume = try await json(cluster, "/api/v1/persistentvolumes/\(volumeName)")
            #expect(volume.value(at: ["spec", "glusterfs", "path"])?.stringValue == volumeName)
            #expect(volume.value(at: ["metadata", "annotations", StorageNames.provisionedBy]) == "berth.dev/glusterfs")
            for host in cluster.hosts.prefix(2) {
                #expect(FileManager.default.fileExists(atPath: "\(bricks)/\(host.name)/\(volumeName)"), "a brick on \(host.name)")
            }

            var first: Pod?
            try await waitFor("the writer to run", timeout: 90) {
                first = try await cluster.pods(selector: "app%3Dwriter").first { $0.status?.phase == "Running" && $0.metadata.deletionTimestamp == nil }
                return first != nil
            }
            let oldPod = try #require(first)
            let lostHost = try #require(cluster.hosts.first { $0.name == oldPod.spec?.nodeName })
            #expect(lostHost === cluster.hosts[2], "the writer prefers the host without bricks")
            let oldName = oldPod.metadata.name ?? ""
            try await waitFor("the first lines", timeout: 20) { try exec(cluster, oldName, "grep -c \(oldName) /data/log").output.trimmingCharacters(in: .whitespacesAndNewlines) != "0" }
            // The quota is the claim's size.
            let full = try exec(cluster, oldName, "dd if=/dev/zero of=/data/fill bs=1M count=64 2>&1; rm -f /data/fill")
            #expect(full.output.contains("Disk quota exceeded") || full.output.contains("No space left"), "\(full.output)")

            // The host is lost: its agent dies; its container and its FUSE client go on.
            let lostAt = Date()
            if let process = lostHost.process { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
            var replacement: Pod?
            try await waitFor("the writer to run on another host", timeout: 90) {
                replacement = try await cluster.pods(selector: "app%3Dwriter").first {
                    $0.status?.phase == "Running" && $0.metadata.deletionTimestamp == nil && $0.spec?.nodeName != lostHost.name
                }
                return replacement != nil
            }
            let seconds = Date().timeIntervalSince(lostAt)
            print("glusterfs failover: host lost to pod Running elsewhere in \(String(format: "%.1f", seconds)) s")
            #expect(seconds < 60)
            let newName = try #require(replacement?.metadata.name)
            let fenced = try await json(cluster, "/api/v1/persistentvolumes/\(volumeName)").value(at: ["metadata", "annotations", "storage.berth.dev/fenced-nodes"])
            #expect(fenced?.stringValue == lostHost.name, "the lost host was fenced before the volume moved")
            // The data came along, and the old writer is cut off.
            let before = try exec(cluster, newName, "grep -c \(oldName) /data/log").output
            #expect((Int(before.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "the old pod's lines are there")
            try await Task.sleep(for: .seconds(3))
            let after = try exec(cluster, newName, "grep -c \(oldName) /data/log; grep -c \(newName) /data/log").output.split(separator: "\n")
            #expect(after.first.map(String.init) == before.trimmingCharacters(in: .whitespacesAndNewlines), "the fenced host writes no more")
            #expect((Int(after.last ?? "") ?? 0) > 0, "the new pod writes")

            // The host returns: its old container is stopped; it still writes nothing.
            try cluster.startAgent(lostHost)
            try await cluster.waitForNode(lostHost.name, ready: true, timeout: 60)
            try await Task.sleep(for: .seconds(3))
            let later = try exec(cluster, newName, "grep -c \(oldName) /data/log").output
            #expect(later == before, "the returned host did not write")

            // Growth: the quota follows the claim.
            let grow = try cluster.kubectl(["patch", "pvc", "shared", "-p", #"{"spec":{"resources":{"requests":{"storage":"64Mi"}}}}"#])
            #expect(grow.status == 0, "\(grow.error)")
            var shown = ""
            do {
                try await waitFor("df to show the new size", timeout: 40) {
                    // busybox wraps a long source name onto a line of its own: count from the end.
                    shown = try exec(cluster, newName, "df -k /data | tail -1 | awk '{print $(NF-4)}'").output
                    return (Int(shown.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 48 * 1024
                }
            } catch {
                let volume = try? await json(cluster, "/api/v1/persistentvolumes/\(volumeName)")
                Issue.record("df: \(shown); volume: \(volume.map { JSONWriter.string($0) } ?? "")")
                throw error
            }

            // A snapshot of the GlusterFS volume, restored into a new claim of the class.
            try cluster.apply("""
                apiVersion: snapshot.storage.k8s.io/v1
                kind: VolumeSnapshot
                metadata: {name: shared-snap}
                spec: {source: {persistentVolumeClaimName: shared}}
                """)
            try await waitFor("the snapshot to be ready", timeout: 60) {
                try await json(cluster, "/apis/snapshot.storage.k8s.io/v1/namespaces/default/volumesnapshots/shared-snap").value(at: ["status", "readyToUse"]) == .bool(true)
            }
            try cluster.apply("""
                apiVersion: v1
                kind: PersistentVolumeClaim
                metadata: {name: copy}
                spec:
                  accessModes: [ReadWriteOnce]
                  storageClassName: gluster
                  resources: {requests: {storage: 64Mi}}
                  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: shared-snap}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: copy-reader}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers: [{name: main, image: berth/busybox:latest, command: [sleep, "3600"], volumeMounts: [{name: data, mountPath: /data}]}]
                  volumes: [{name: data, persistentVolumeClaim: {claimName: copy}}]
                """)
            try await waitFor("the restored copy to be read", timeout: 90) {
                (Int(try exec(cluster, "copy-reader", "grep -c \(oldName) /data/log").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0
            }
            _ = try cluster.kubectl(["delete", "pod", "copy-reader", "--grace-period=1"])
            _ = try cluster.kubectl(["delete", "pvc", "copy", "--wait=false"])
            _ = try cluster.kubectl(["delete", "volumesnapshot", "shared-snap"])

            // Deleting the claim removes the volume and its bricks.
            _ = try cluster.kubectl(["delete", "deployment", "writer"])
            _ = try cluster.kubectl(["delete", "pvc", "shared", "--wait=false"])
            try await waitFor("the volume and its bricks to go", timeout: 90) {
                let gone = try await cluster.api().request(.GET, "/api/v1/persistentvolumes/\(volumeName)").status == 404
                let bricksGone = cluster.hosts.prefix(2).allSatisfy { !FileManager.default.fileExists(atPath: "\(bricks)/\($0.name)/\(volumeName)") }
                return gone && bricksGone
            }
        } catch {
            for host in cluster.hosts { print("--- \(host.name) log tail:\n" + ((try? String(contentsOfFile: host.logPath, encoding: .utf8))?.split(separator: "\n").suffix(40).joined(separator: "\n") ?? "")) }
            await cluster.tearDown()
            try? FileManager.default.removeItem(atPath: bricks)
            throw error
        }
        await cluster.tearDown()
        try? FileManager.default.removeItem(atPath: bricks)
    }
}
