import BerthCore
import BerthNetwork
import BerthRuntime
import BerthStorage
import Foundation

/// A GlusterFS volume mounted through the FUSE client, once per node under `root/VOLUME`; a
/// client that was cut off (fenced, or its servers lost) is mounted afresh.
enum GlusterMount {
    static func ensure(_ source: GlusterfsPersistentVolumeSource, under root: String, api: AgentAPI, volumeName: String? = nil) async throws(BerthError) -> String {
        let volumeName = volumeName ?? source.path
        let name = source.path
        var servers: [String] = []
        for server in GlusterPlan.servers(source.endpoints) {
            if IPv4.parse(server) != nil { servers.append(server); continue }
            if let node = try? await api.get(Node.self, "/api/v1/nodes/\(server)"), let address = GlusterPlan.address(of: node) { servers.append(address) }
        }
        guard let first = servers.first else { throw BerthError(.unavailable, "volume \"\(volumeName)\": no GlusterFS server of \(name) has an address") }
        let directory = "\(root)/\(source.path)"
        if PodVolumes.isMountPoint(directory) {
            // A client cut off (fenced, or its servers gone) answers ENOTCONN: mount afresh.
            var info = stat()
            if stat(directory, &info) == 0 { return directory }
            _ = umount2(directory, Int32(MNT_DETACH))
        }
        try PodVolumes.makeDirectory(directory, mode: 0o755)
        var options = "log-file=\(root)/\(source.path).log"
        if servers.count > 1 { options += ",backup-volfile-servers=" + servers.dropFirst().joined(separator: ":") }
        let mounted = try await Subprocess.run("/usr/bin/mount", ["-t", "glusterfs", "-o", options, "\(first):/\(source.path)", directory])
        guard mounted.succeeded, PodVolumes.isMountPoint(directory) else {
            throw BerthError(.unavailable, "volume \"\(volumeName)\": mounting GlusterFS volume \(first):/\(source.path) failed: \(mounted.errorText)")
        }
        return directory
    }
}
