import BerthCore
import CBerthSys
import Glibc

/// What a pod's containers share besides the network, as in Kubernetes: one System V IPC
/// namespace (shared memory segments, semaphores, message queues — and the POSIX message queues
/// of /dev/mqueue) and one /dev/shm tmpfs. Both live in the pod's directory: the namespace is
/// kept alive by a bind mount of its nsfs file (as `ip netns` keeps network namespaces), the
/// tmpfs is mounted there and bound into each container. They outlive the agent, so containers
/// adopted after a restart still share them.
public enum PodIPC {
    static let nsfsMagic = 0x6e73_6673
    static let tmpfsMagic = 0x0102_1994
    /// Docker's and the kubelet's default /dev/shm size.
    static let sharedMemoryOptions = "mode=1777,size=65536k"

    public static func namespacePath(podDirectory: String) -> String { "\(podDirectory)/ipc" }
    public static func sharedMemoryPath(podDirectory: String) -> String { "\(podDirectory)/shm" }

    /// Creates the namespace and the tmpfs unless they exist; safe to repeat.
    public static func setUp(podDirectory: String) async throws(BerthError) {
        let namespace = namespacePath(podDirectory: podDirectory)
        if berth_statfs_type(namespace) != nsfsMagic {
            let fd = open(namespace, O_WRONLY | O_CREAT | O_CLOEXEC, 0o444)
            guard fd >= 0 else { throw BerthError.posix("create", namespace) }
            close(fd)
            // unshare(1) enters a new IPC namespace and bind-mounts it onto the file before it
            // exits; the agent cannot unshare itself (that would move all its threads' peers).
            let result = try await Subprocess.run("/usr/bin/unshare", ["--ipc=\(namespace)", "/usr/bin/true"])
            guard result.succeeded, berth_statfs_type(namespace) == nsfsMagic else {
                throw BerthError(.internalError, "failed to create the pod's IPC namespace: \(result.errorText)")
            }
        }
        let shm = sharedMemoryPath(podDirectory: podDirectory)
        if berth_statfs_type(shm) != tmpfsMagic {
            guard mkdir(shm, 0o755) == 0 || errno == EEXIST else { throw BerthError.posix("mkdir", shm) }
            let flags = UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC)
            guard mount("shm", shm, "tmpfs", flags, sharedMemoryOptions) == 0 else { throw BerthError.posix("mount tmpfs", shm) }
        }
    }

    /// Unmounts both (the namespace ends once its last container has exited); safe to repeat.
    public static func tearDown(podDirectory: String) {
        for (path, magic) in [(namespacePath(podDirectory: podDirectory), nsfsMagic), (sharedMemoryPath(podDirectory: podDirectory), tmpfsMagic)] {
            // Stacked mounts (a set-up repeated by a crashed agent) come off one at a time.
            for _ in 0..<4 where berth_statfs_type(path) == magic {
                if umount2(path, Int32(MNT_DETACH)) != 0 { break }
            }
        }
    }
}
