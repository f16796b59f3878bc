import Foundation
import Glibc

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
            guard let cpu = field("\(base)/cpu.stat", "usage_usec"), let memory = number("\(base)/memory.current") else { return nil }
            let inactive = field("\(base)/memory.stat", "inactive_file") ?? 0
            return ContainerUsage(cpuNanoseconds: cpu * 1000, memoryWorkingSetBytes: memory > inactive ? memory - inactive : 0,
                                  memoryUsageBytes: memory, pids: number("\(base)/pids.current") ?? 0)
        }
        guard let cpu = number("\(root)/cpuacct\(cgroupsPath)/cpuacct.usage"),
              let memory = number("\(root)/memory\(cgroupsPath)/memory.usage_in_bytes") else { return nil }
        let inactive = field("\(root)/memory\(cgroupsPath)/memory.stat", "total_inactive_file") ?? 0
        return ContainerUsage(cpuNanoseconds: cpu, memoryWorkingSetBytes: memory > inactive ? memory - inactive : 0,
                              memoryUsageBytes: memory, pids: number("\(root)/pids\(cgroupsPath)/pids.current") ?? 0)
    }

    // Read with plain syscalls into one buffer and parsed in place: the stats of 200 containers
    // are read every few seconds (metrics, the metrics API, eviction), and Foundation's
    // `String(contentsOfFile:)` plus a dictionary per `memory.stat` cost more than the reads.

    /// A cgroup file's bytes (they are small: `memory.stat` is about 1 KB).
    static func contents(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: 8192)
        var count = 0
        while count < bytes.count {
            let read = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + count, $0.count - count) }
            if read <= 0 { break }
            count += read
        }
        return Array(bytes.prefix(count))
    }

    /// The unsigned number at `bytes[start...]`, up to the first non-digit.
    static func parse(_ bytes: [UInt8], from start: Int) -> UInt64? {
        var value: UInt64 = 0
        var index = start
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            value = value &* 10 &+ UInt64(bytes[index] - 0x30)
            index += 1
        }
        return index > start ? value : nil
    }

    static func number(_ path: String) -> UInt64? {
        guard let bytes = contents(path) else { return nil }
        return parse(bytes, from: 0)
    }

    /// The value of `key` in a file of `key value` lines (cpu.stat, memory.stat).
    static func field(_ path: String, _ key: String) -> UInt64? {
        guard let bytes = contents(path) else { return nil }
        let wanted = Array(key.utf8)
        var lineStart = 0
        while lineStart < bytes.count {
            let lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.count
            if lineEnd - lineStart > wanted.count, bytes[lineStart + wanted.count] == 0x20,
               bytes[lineStart..<(lineStart + wanted.count)].elementsEqual(wanted) {
                return parse(bytes, from: lineStart + wanted.count + 1)
            }
            lineStart = lineEnd + 1
        }
        return nil
    }
}
