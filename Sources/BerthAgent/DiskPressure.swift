import Foundation

/// The node's `DiskPressure` condition, judged as the kubelet's default hard eviction signal
/// `nodefs.available<10%` on the filesystem holding the agent's data directory (pod records,
/// images, container layers and logs).
struct DiskPressure: Equatable {
    var available: UInt64
    var total: UInt64

    /// Below this share of free space the node is under pressure.
    static let threshold = 0.10

    var underPressure: Bool { total > 0 && Double(available) < Double(total) * Self.threshold }

    var message: String {
        let percent = total > 0 ? Double(available) * 100 / Double(total) : 0
        return String(format: "%llu of %llu bytes free (%.1f %%, under %.0f %%)", available, total, percent, Self.threshold * 100)
    }

    /// The filesystem of `path` now, or nil when it cannot be read.
    static func measure(_ path: String) -> DiskPressure? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let block = UInt64(stats.f_frsize)
        return DiskPressure(available: UInt64(stats.f_bavail) * block, total: UInt64(stats.f_blocks) * block)
    }
}
