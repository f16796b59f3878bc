import BerthCore
import BerthImages
import BerthRuntime
import Logging

extension ImageGarbageCollector {
    /// Layers that overlay mounts of this node's containers use (lower dirs under the store's
    /// `layers/`): they stay whatever becomes of their image's name.
    public static func mountedLayers(imagesDirectory: String) -> Set<Digest> {
        var digests = Set<Digest>()
        let mounts = ProcFile.read("/proc/mounts") ?? ""
        for line in mounts.split(separator: "\n") where line.contains(imagesDirectory + "/layers/") {
            for option in line.split(separator: ",") {
                for path in option.replacingOccurrences(of: "lowerdir=", with: "").split(separator: ":") where path.contains("/layers/") {
                    if let hex = path.split(separator: "/").last, let digest = try? Digest(parsing: "sha256:\(hex)") { digests.insert(digest) }
                }
            }
        }
        return digests
    }

    /// The agent's loop: every `interval`, removes unused images if the disk is past the high
    /// threshold.
    func run(every interval: Duration, imagesDirectory: String, manager: PodManager, logger: Logger) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            guard let usage = Self.diskUsagePercent(path: imagesDirectory), usage >= highPercent else { continue }
            let inUse = await manager.imageReferences()
            let removed = collect(inUse: inUse, mountedLayers: Self.mountedLayers(imagesDirectory: imagesDirectory)) {
                Self.diskUsagePercent(path: imagesDirectory)
            }
            let after = Self.diskUsagePercent(path: imagesDirectory) ?? -1
            if removed.isEmpty {
                logger.warning("image disk usage is above the threshold and no unused image is left to remove",
                               metadata: ["usage_percent": "\(usage)", "high_percent": "\(highPercent)"])
            } else {
                logger.info("unused images removed to free disk", metadata: ["images": "\(removed)", "usage_before": "\(usage)", "usage_after": "\(after)"])
            }
        }
    }
}
