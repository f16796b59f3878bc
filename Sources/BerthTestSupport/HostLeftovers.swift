import BerthRuntime
import Foundation
import Glibc

/// Removes what a node agent with data directory `dataDirectory` may have left on the host
/// after a failed test: runc containers, mounts under the directory, pod network namespaces
/// and cgroups.
public enum HostLeftovers {
    public static func remove(dataDirectory: String) {
        let runcRoot = dataDirectory + "/node/runtime/runc"
        let ids = (try? runCommand("/usr/sbin/runc", ["--root", runcRoot, "list", "-q"]).output) ?? ""
        for id in ids.split(separator: "\n") { _ = try? runCommand("/usr/sbin/runc", ["--root", runcRoot, "delete", "--force", String(id)]) }
        GlusterProcesses.killAll(under: dataDirectory)
        // A mount point may carry stacked mounts: detach until none is left.
        for _ in 0..<8 {
            let points = ProcFile.mounts(under: dataDirectory)
            if points.isEmpty { break }
            for point in points { _ = umount2(point, Int32(MNT_DETACH)) }
        }
        for uid in (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory + "/node/pods")) ?? [] {
            _ = try? runCommand("/usr/sbin/ip", ["netns", "delete", "berth-\(uid.prefix(18))"])
            // The pod's cgroups, once the killed processes are gone (a few tries).
            for _ in 0..<20 {
                if PodCgroups.remove(podUID: uid) { break }
                usleep(100_000)
            }
        }
    }

    /// Deletes an agent's pod bridge and the nftables tables it programmed (services, policies,
    /// anti-spoofing, egress, host ports).
    public static func removeBridge(_ name: String) {
        _ = try? runCommand("/usr/sbin/ip", ["link", "delete", name])
        _ = try? runCommand("/usr/sbin/nft", ["delete", "table", "ip", "berth-svc-\(name)"])
        _ = try? runCommand("/usr/sbin/nft", ["delete", "table", "ip", "berth-pol-\(name)"])
        _ = try? runCommand("/usr/sbin/nft", ["delete", "table", "bridge", "berth-spoof-\(name)"])
        _ = try? runCommand("/usr/sbin/nft", ["delete", "table", "ip", "berth-egress-\(name)"])
        _ = try? runCommand("/usr/sbin/nft", ["delete", "table", "ip", "berth-hostport-\(name)"])
    }
}
