import Glibc

/// Reads a procfs or sysfs file to its end. These files report a size of 0 and hand out whole
/// records per read; Foundation's `String(contentsOfFile:)` stops after the first 4 KiB chunk,
/// so on a host with many mounts `/proc/mounts` came back cut short and later mounts were
/// never seen.
public enum ProcFile {
    public static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Mount points listed in /proc/mounts under `directory` (not the directory itself), deepest first.
    public static func mounts(under directory: String) -> [String] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return (read("/proc/mounts") ?? "").split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { return nil }
            let point = String(fields[1])
            return point.hasPrefix(prefix) ? point : nil
        }.sorted { $0.count > $1.count }
    }
}
