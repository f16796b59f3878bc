import Foundation
import Glibc

/// A pod's parent cgroup, `berth/pod-UID` under every controller (cgroup v1) or the unified
/// hierarchy (v2). runc removes each container's own cgroup; the parent is the agent's to remove
/// when the pod is gone, and `berth cleanup`'s for pods of a stopped agent.
public enum PodCgroups {
    public static func relativePath(podUID: String) -> String { "berth/pod-\(podUID)" }

    /// Removes the pod's cgroups, children first; a cgroup that still holds a process stays.
    /// Returns whether none is left.
    @discardableResult
    public static func remove(podUID: String, root: String = "/sys/fs/cgroup", version: Int = FileSystemInfo.cgroupVersion) -> Bool {
        let relative = relativePath(podUID: podUID)
        if version == 2 { return removeTree("\(root)/\(relative)") }
        var gone = true
        for controller in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            if !removeTree("\(root)/\(controller)/\(relative)") { gone = false }
        }
        return gone
    }

    /// Removes the cgroups, retrying for a few seconds: right after a KILL the container's own
    /// cgroup can still hold the dying process (rmdir says EBUSY), which keeps the pod's too.
    public static func removeSoon(podUID: String) async {
        for _ in 0..<30 {
            if remove(podUID: podUID) { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    private static func removeTree(_ path: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return true }
        for child in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(path)/\(child)", isDirectory: &isDirectory), isDirectory.boolValue { rmdir("\(path)/\(child)") }
        }
        return rmdir(path) == 0 || errno == ENOENT
    }
}
