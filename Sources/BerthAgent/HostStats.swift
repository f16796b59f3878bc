import Foundation

/// The host as the kubelet's node metrics and pressure signals see it, read from /proc and the
/// data directory's filesystem.
struct HostStats: Sendable, Equatable {
    /// CPU time used by all cores (user, nice, system, irq, softirq, steal), in seconds.
    var cpuSeconds: Double
    var cores: Int
    var memoryTotal: UInt64
    var memoryAvailable: UInt64
    /// Total minus available: what the kubelet calls the node's working set.
    var memoryWorkingSet: UInt64 { memoryTotal > memoryAvailable ? memoryTotal - memoryAvailable : 0 }
    var filesystemSize: UInt64
    var filesystemAvailable: UInt64
    /// Processes (threads count as the kernel's pid space does) against `pid_max`.
    var processes: Int
    var processLimit: Int
    /// Bytes per interface, the loopback, pods' veths and Berth's own devices left out.
    var network: [(device: String, received: UInt64, transmitted: UInt64)]
    var load1: Double

    static func == (lhs: HostStats, rhs: HostStats) -> Bool { lhs.cpuSeconds == rhs.cpuSeconds && lhs.memoryAvailable == rhs.memoryAvailable }

    static func read(dataDirectory: String) -> HostStats {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var cpu = 0.0
        var cores = 0
        for line in lines("/proc/stat") {
            if line.hasPrefix("cpu ") {
                let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
                // user nice system idle iowait irq softirq steal: all but idle and iowait.
                if values.count >= 8 { cpu = (values[0] + values[1] + values[2] + values[5] + values[6] + values[7]) / ticks }
            } else if line.hasPrefix("cpu") {
                cores += 1
            }
        }
        var memory: [String: UInt64] = [:]
        for line in lines("/proc/meminfo") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kilobytes = UInt64(parts[1]) { memory[String(parts[0].dropLast())] = kilobytes * 1024 }
        }
        let disk = DiskPressure.measure(dataDirectory)
        var network: [(String, UInt64, UInt64)] = []
        for line in lines("/proc/net/dev").dropFirst(2) {
            let halves = line.split(separator: ":", maxSplits: 1)
            guard halves.count == 2 else { continue }
            let device = halves[0].trimmingCharacters(in: .whitespaces)
            if device == "lo" || device.hasPrefix("veth") || device.hasPrefix("berth") { continue }
            let fields = halves[1].split(separator: " ", omittingEmptySubsequences: true).compactMap { UInt64($0) }
            if fields.count >= 9 { network.append((device, fields[0], fields[8])) }
        }
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap { Double($0) } ?? 0
        let running = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").dropFirst(3).first?
            .split(separator: "/").last.flatMap { Int($0) } ?? 0
        let limit = (try? String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 32768
        return HostStats(cpuSeconds: cpu, cores: max(cores, 1), memoryTotal: memory["MemTotal"] ?? 0, memoryAvailable: memory["MemAvailable"] ?? 0,
                         filesystemSize: disk?.total ?? 0, filesystemAvailable: disk?.available ?? 0, processes: running, processLimit: limit,
                         network: network, load1: load)
    }

    static func lines(_ path: String) -> [Substring] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
    }
}
