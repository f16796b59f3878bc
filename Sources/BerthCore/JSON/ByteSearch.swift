#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Substring search over raw bytes, for deciding whether a serialized object is worth parsing
/// at all (a watch's selector, a simulated node's pod events).
public enum ByteSearch {
    /// memchr to the next candidate first byte, memcmp for the rest.
    public static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return needle.isEmpty }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pattern in
                guard let base = hay.baseAddress else { return false }
                var offset = 0
                let last = hay.count - pattern.count
                while offset <= last {
                    guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, pattern.baseAddress!, pattern.count) == 0 { return true }
                    offset = position + 1
                }
                return false
            }
        }
    }
}
