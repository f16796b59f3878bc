import BerthCore
import Glibc
import Synchronization

/// Frees disk as the kubelet does: when the file system holding the images is fuller than the
/// high threshold, images no pod on this node uses are removed, least recently used first, until
/// usage is below the low threshold. Images built on the node (`berth/…`) stay: no registry could
/// give them back. Layers that containers have mounted stay whatever their image's name.
public final class ImageGarbageCollector: Sendable {
    public let store: ImageStore
    public let highPercent: Int
    public let lowPercent: Int
    /// Reference → when a container last asked for it (seconds since boot); images not asked for
    /// since the agent started count as oldest.
    private let lastUsed = Mutex<[String: Double]>([:])

    public init(store: ImageStore, highPercent: Int, lowPercent: Int) {
        self.store = store
        self.highPercent = highPercent
        self.lowPercent = lowPercent
    }

    public func touched(_ reference: String) {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        lastUsed.withLock { $0[reference] = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 }
    }

    /// Percent of the file system at `path` in use, as `df` counts it; nil if it cannot be read.
    public static func diskUsagePercent(path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0, info.f_blocks > 0 else { return nil }
        let used = Double(info.f_blocks - info.f_bfree)
        let available = Double(info.f_bavail)
        guard used + available > 0 else { return nil }
        return Int((100 * used / (used + available)).rounded(.up))
    }

    /// Removes images when `usage()` is at or above the high threshold; returns their names.
    /// `inUse`: references the node's pods name (normalized, as `ImageReference.description`).
    @discardableResult
    public func collect(inUse: Set<String>, mountedLayers: Set<Digest>, usage: () -> Int?) -> [String] {
        guard let start = usage(), start >= highPercent else { return [] }
        let times = lastUsed.withLock { $0 }
        let candidates = store.list()
            .filter { !inUse.contains($0.reference) && !Self.isLocalOnly($0.reference) }
            .sorted { (times[$0.reference] ?? 0, $0.reference) < (times[$1.reference] ?? 0, $1.reference) }
        var removed: [String] = []
        for image in candidates {
            guard let reference = try? ImageReference(parsing: image.reference) else { continue }
            do { try store.remove(reference) } catch { continue }
            removed.append(image.reference)
            // Ten minutes' grace for blobs of pulls still under way.
            store.collectGarbage(keeping: mountedLayers, graceSeconds: 600)
            if let now = usage(), now < lowPercent { break }
        }
        return removed
    }

    static func isLocalOnly(_ reference: String) -> Bool {
        guard let parsed = try? ImageReference(parsing: reference) else { return false }
        return parsed.registry == ImageReference.defaultRegistry && parsed.repository.hasPrefix("berth/")
    }
}
