import Foundation

/// Resource use of one container from its cgroup's own accounting, on cgroup v1 (per-controller
/// hierarchies, as on this host) and v2 (the unified tree).
public struct ContainerUsage: Sendable, Equatable {
    /// CPU time used since the container started, in nanoseconds.
    public var cpuNanoseconds: UInt64
    /// Memory in use minus inactive file cache: what the kernel cannot reclaim easily, the
    /// number Kubernetes evicts and `kubectl top` reports on.
    public var memoryWorkingSetBytes: UInt64
    public var memoryUsageBytes: UInt64
    public var pids: UInt64

    public init(cpuNanoseconds: UInt64, memoryWorkingSetBytes: UInt64, memoryUsageBytes: UInt64, pids: UInt64) {
        self.cpuNanoseconds = cpuNanoseconds
        self.memoryWorkingSetBytes = memoryWorkingSetBytes
        self.memoryUsageBytes = memoryUsageBytes
        self.pids = pids
    }
}

public enum CgroupStats {
    /// Reads the usage of the container at `cgroupsPath` (as given to runc, e.g. `/berth/pod-UID/ID`).
    /// `root` and `version` are the host's; tests pass a directory laid out like either.
    public static func usage(cgroupsPath: String, root: String = "/sys/fs/cgroup", version: Int = FileSystemInfo.cgroupVersion) -> ContainerUsage? {
        if version == 2 {
            let base = "\(root)\(cgroupsPath)"
            guard let cpu = keyed("\(base)/cpu.stat")["usage_usec"], let memory = number("\(base)/memory.current") else { return nil }
            let inactive = keyed("\(base)/memory.stat")["inactive_file"] ?? 0
            return ContainerUsage(cpuNanoseconds: cpu * 1000, memoryWorkingSetBytes: memory > inactive ? memory - inactive : 0,
                                  memoryUsageBytes: memory, pids: number("\(base)/pids.current") ?? 0)
        }
        guard let cpu = number("\(root)/cpuacct\(cgroupsPath)/cpuacct.usage"),
              let memory = number("\(root)/memory\(cgroupsPath)/memory.usage_in_bytes") else { return nil }
        let inactive = keyed("\(root)/memory\(cgroupsPath)/memory.stat")["total_inactive_file"] ?? 0
        return ContainerUsage(cpuNanoseconds: cpu, memoryWorkingSetBytes: memory > inactive ? memory - inactive : 0,
                              memoryUsageBytes: memory, pids: number("\(root)/pids\(cgroupsPath)/pids.current") ?? 0)
    }

    static func number(_ path: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `key value` lines (cpu.stat, memory.stat).
    static func keyed(_ path: String) -> [String: UInt64] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var values: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }
}
