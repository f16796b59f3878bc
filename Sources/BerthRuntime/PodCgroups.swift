import Foundation
import Glibc

/// A pod's parent cgroup, `berth/pod-UID` under every controller (cgroup v1) or the unified
/// hierarchy (v2). runc removes each container's own cgroup; the parent is the agent's to remove
/// when the pod is gone, and `berth cleanup`'s for pods of a stopped agent.
public enum PodCgroups {
    public static func relativePath(podUID: String) -> String { "berth/pod-\(podUID)" }

    /// Removes the pod's cgroups, children first; a cgroup that still holds a process stays.
    public static func remove(podUID: String) {
        let relative = relativePath(podUID: podUID)
        if FileSystemInfo.cgroupVersion == 2 {
            removeTree("/sys/fs/cgroup/\(relative)")
            return
        }
        for controller in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? [] {
            removeTree("/sys/fs/cgroup/\(controller)/\(relative)")
        }
    }

    private static func removeTree(_ path: String) {
        for child in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(path)/\(child)", isDirectory: &isDirectory), isDirectory.boolValue { rmdir("\(path)/\(child)") }
        }
        rmdir(path)
    }
}
