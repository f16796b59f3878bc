import CBerthSys
import Glibc

/// Builds the OCI `config.json` for a container: its own pid, mount and uts namespaces, the
/// pod's network and IPC namespaces (and /dev/shm), cgroup limits, and the default sandbox (capabilities, seccomp,
/// masked paths, no new privileges).
public enum SpecBuilder {
    public static func spec(for container: ContainerConfiguration) -> RuntimeSpec {
        var capabilities = container.privileged ? DefaultSecurity.allCapabilities : DefaultSecurity.capabilities
        let normalize: (String) -> String = { name in
            let upper = name.uppercased()
            return upper.hasPrefix("CAP_") ? upper : "CAP_\(upper)"
        }
        if container.dropCapabilities.contains(where: { normalize($0) == "CAP_ALL" }) { capabilities = [] }
        capabilities.removeAll { name in container.dropCapabilities.contains { normalize($0) == name } }
        for name in container.addCapabilities.map(normalize) where name == "CAP_ALL" || !capabilities.contains(name) {
            if name == "CAP_ALL" { capabilities = DefaultSecurity.allCapabilities } else { capabilities.append(name) }
        }
        var namespaces = [RuntimeSpec.Namespace(type: "pid"), RuntimeSpec.Namespace(type: "mount"), RuntimeSpec.Namespace(type: "uts")]
        if !container.hostIPC { namespaces.append(.init(type: "ipc", path: container.ipcNamespace)) }
        if let network = container.networkNamespace { namespaces.append(.init(type: "network", path: network)) }
        if FileSystemInfo.cgroupVersion == 2 { namespaces.append(.init(type: "cgroup")) }

        let process = RuntimeSpec.Process(
            terminal: container.terminal,
            user: .init(uid: container.uid, gid: container.gid, additionalGids: container.additionalGids.isEmpty ? nil : container.additionalGids),
            args: container.arguments, env: container.environment, cwd: container.workingDirectory,
            capabilities: .init(capabilities), rlimits: [rlimitNoFile()],
            noNewPrivileges: !(container.allowPrivilegeEscalation || container.privileged), oomScoreAdj: nil)
        let resources = RuntimeSpec.Resources(
            devices: [.init(allow: false, access: "rwm")],
            memory: container.resources.memoryLimitBytes.map { .init(limit: $0, swap: $0) },
            cpu: (container.resources.cpuShares != nil || container.resources.cpuQuota != nil)
                ? .init(shares: container.resources.cpuShares, quota: container.resources.cpuQuota,
                        period: container.resources.cpuQuota == nil ? nil : container.resources.cpuPeriod)
                : nil,
            pids: container.resources.pidsLimit.map { .init(limit: $0) })
        let linux = RuntimeSpec.Linux(
            namespaces: namespaces, cgroupsPath: container.cgroupsPath, resources: resources,
            maskedPaths: container.privileged ? nil : DefaultSecurity.maskedPaths,
            readonlyPaths: container.privileged ? nil : DefaultSecurity.readonlyPaths,
            seccomp: container.privileged ? nil : DefaultSecurity.seccompProfile(mayCreateNamespaces: capabilities.contains("CAP_SYS_ADMIN")), sysctl: nil)
        return RuntimeSpec(
            process: process, root: .init(path: container.rootfs, readonly: container.readOnlyRootfs ? true : nil),
            hostname: container.hostname, mounts: baseMounts(privileged: container.privileged, sharedMemory: sharedMemory(container)) + container.mounts, linux: linux)
    }

    /// Where /dev/shm comes from: the host's with `hostIPC`, else the pod's tmpfs when it has one.
    static func sharedMemory(_ container: ContainerConfiguration) -> String? {
        container.hostIPC ? "/dev/shm" : container.sharedMemory
    }

    /// The file systems every Linux container expects, as `runc spec` lays them out.
    static func baseMounts(privileged: Bool, sharedMemory: String? = nil) -> [RuntimeSpec.Mount] {
        let sysOptions = privileged ? ["nosuid", "noexec", "nodev"] : ["nosuid", "noexec", "nodev", "ro"]
        return [
            .init(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            .init(destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]),
            .init(destination: "/dev/pts", type: "devpts", source: "devpts",
                  options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            sharedMemory.map { .init(destination: "/dev/shm", type: "bind", source: $0, options: ["rbind", "nosuid", "noexec", "nodev"]) }
                ?? .init(destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
            .init(destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            .init(destination: "/sys", type: "sysfs", source: "sysfs", options: sysOptions),
            .init(destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"]),
        ]
    }

    /// Open files: as many as the host's hard limit allows, capped at 1,048,576.
    static func rlimitNoFile() -> RuntimeSpec.Rlimit {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        let hard = min(UInt64(limit.rlim_max), 1_048_576)
        return .init(type: "RLIMIT_NOFILE", hard: hard, soft: hard)
    }
}

/// Facts about the host's file systems the runtime adapts to.
public enum FileSystemInfo {
    /// 2 when /sys/fs/cgroup is the unified hierarchy, 1 for legacy or hybrid layouts.
    public static let cgroupVersion: Int = {
        berth_statfs_type("/sys/fs/cgroup") == 0x63677270 ? 2 : 1  // CGROUP2_SUPER_MAGIC
    }()
}
