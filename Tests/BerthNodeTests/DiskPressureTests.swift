@testable import BerthAgent
import BerthTestSupport
import Foundation
import Testing

/// The node's DiskPressure condition follows the free space of the data directory's
/// filesystem (kubelet's `nodefs.available<10%`), measured on a real small filesystem.
@Suite("disk pressure", .blockingAllowed)
struct DiskPressureTests {
    @Test func theThresholdIsTenPercentFree() {
        #expect(DiskPressure(available: 9, total: 100).underPressure)
        #expect(!DiskPressure(available: 10, total: 100).underPressure)
        #expect(!DiskPressure(available: 0, total: 0).underPressure)
    }

    @Test func aFilledLoopFilesystemIsUnderPressureUntilFreed() throws {
        let filesystem = try LoopFilesystem.mount(megabytes: 16)
        defer { filesystem.remove() }
        let mountPoint = filesystem.mountPoint
        let empty = try #require(DiskPressure.measure(mountPoint))
        #expect(!empty.underPressure, "\(empty.message)")
        try filesystem.fill(leaving: Int(empty.total / 20))
        let full = try #require(DiskPressure.measure(mountPoint))
        #expect(full.underPressure, "\(full.message)")
        try FileManager.default.removeItem(atPath: filesystem.fillerPath)
        #expect(DiskPressure.measure(mountPoint)?.underPressure == false)
    }
}
