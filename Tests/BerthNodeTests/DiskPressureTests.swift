@testable import BerthAgent
import BerthTestSupport
import Foundation
import Testing

/// The node's DiskPressure condition follows the free space of the data directory's
/// filesystem (kubelet's `nodefs.available<10%`), measured on a real small filesystem.
@Suite("disk pressure")
struct DiskPressureTests {
    @Test func theThresholdIsTenPercentFree() {
        #expect(DiskPressure(available: 9, total: 100).underPressure)
        #expect(!DiskPressure(available: 10, total: 100).underPressure)
        #expect(!DiskPressure(available: 0, total: 0).underPressure)
    }

    @Test func aFilledLoopFilesystemIsUnderPressureUntilFreed() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("berth-pressure-\(UUID().uuidString)").path
        let image = base + ".img", mountPoint = base + ".mnt"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer {
            _ = try? runCommand("/usr/bin/umount", [mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
            try? FileManager.default.removeItem(atPath: image)
        }
        #expect(try runCommand("/usr/bin/truncate", ["-s", "16M", image]).status == 0)
        #expect(try runCommand("/usr/sbin/mkfs.ext4", ["-q", "-F", image]).status == 0)
        try #require(try runCommand("/usr/bin/mount", ["-o", "loop", image, mountPoint]).status == 0)
        let empty = try #require(DiskPressure.measure(mountPoint))
        #expect(!empty.underPressure, "\(empty.message)")
        let filler = mountPoint + "/filler"
        #expect(try runCommand("/usr/bin/fallocate", ["-l", String(empty.available - empty.total / 20), filler]).status == 0)
        let full = try #require(DiskPressure.measure(mountPoint))
        #expect(full.underPressure, "\(full.message)")
        try FileManager.default.removeItem(atPath: filler)
        #expect(DiskPressure.measure(mountPoint)?.underPressure == false)
    }
}
