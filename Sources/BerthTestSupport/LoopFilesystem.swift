import Foundation

/// A small ext4 filesystem on a loop device, mounted in a temporary directory, for tests of
/// full disks; `remove` unmounts it and deletes the image (call it in a `defer`).
public struct LoopFilesystem: Sendable {
    public let mountPoint: String
    let image: String

    public static func mount(megabytes: Int) throws -> LoopFilesystem {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("berth-loop-\(UUID().uuidString)").path
        let filesystem = LoopFilesystem(mountPoint: base + ".mnt", image: base + ".img")
        try FileManager.default.createDirectory(atPath: filesystem.mountPoint, withIntermediateDirectories: true)
        for (tool, arguments) in [("/usr/bin/truncate", ["-s", "\(megabytes)M", filesystem.image]), ("/usr/sbin/mkfs.ext4", ["-q", "-F", filesystem.image]),
                                  ("/usr/bin/mount", ["-o", "loop", filesystem.image, filesystem.mountPoint])] {
            let result = try runCommand(tool, arguments)
            guard result.status == 0 else {
                filesystem.remove()
                throw SimulatorError(message: "\(tool) failed: \(result.error)")
            }
        }
        return filesystem
    }

    /// Fills the filesystem until `leaving` bytes are free.
    public func fill(leaving bytes: Int) throws {
        let free = (try FileManager.default.attributesOfFileSystem(forPath: mountPoint)[.systemFreeSize] as? NSNumber)?.intValue ?? 0
        let result = try runCommand("/usr/bin/fallocate", ["-l", String(max(0, free - bytes)), fillerPath])
        guard result.status == 0 else { throw SimulatorError(message: "fallocate failed: \(result.error)") }
    }

    public var fillerPath: String { mountPoint + "/filler" }

    public func remove() {
        _ = try? runCommand("/usr/bin/umount", [mountPoint])
        try? FileManager.default.removeItem(atPath: mountPoint)
        try? FileManager.default.removeItem(atPath: image)
    }
}
