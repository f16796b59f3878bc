import BerthCore
import Glibc

/// A file descriptor owned by one scope; the small set of POSIX calls the image code needs, each
/// turned into a `BerthError` that names the path.
public final class PosixFile {
    public let fd: Int32
    public let path: String

    public init(path: String, flags: Int32, mode: mode_t = 0o644) throws(BerthError) {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw BerthError.posix("open", path) }
        self.fd = fd
        self.path = path
    }

    deinit { Glibc.close(fd) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw BerthError.posix("write", path)
            }
            offset += written
        }
    }

    public func write(_ bytes: [UInt8]) throws(BerthError) {
        try bytes.withBytes { (buffer) throws(BerthError) in try write(buffer) }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw BerthError.posix("read", path) }
        }
    }

    public func sync() throws(BerthError) {
        guard fsync(fd) == 0 else { throw BerthError.posix("fsync", path) }
    }
}

public enum PosixFS {
    public static func readAll(_ path: String, limit: Int = 64 << 20) throws(BerthError) -> [UInt8] {
        let file = try PosixFile(path: path, flags: O_RDONLY)
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try chunk.withMutableBytes { (buffer) throws(BerthError) in try file.read(into: buffer) }
            if count == 0 { break }
            result.append(contentsOf: chunk[0..<count])
            guard result.count <= limit else { throw BerthError(.badRequest, "failed to read \(path): larger than \(limit) bytes") }
        }
        return result
    }

    /// Writes a file atomically: a temporary file in the same directory, fsync, rename.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws(BerthError) {
        let temporary = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do throws(BerthError) {
            let file = try PosixFile(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
            try file.write(bytes)
            try file.sync()
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw BerthError.posix("rename", path)
        }
    }

    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(BerthError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/\(component)"
            if mkdir(current, mode) != 0 && errno != EEXIST { throw BerthError.posix("mkdir", current) }
        }
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Removes a file or a whole tree without following symbolic links.
    public static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for entry in (try? list(path)) ?? [] { removeTree("\(path)/\(entry)") }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    public static func list(_ path: String) throws(BerthError) -> [String] {
        guard let directory = opendir(path) else { throw BerthError.posix("open directory", path) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

extension BerthError {
    /// An error for a failed system call, with errno's text.
    public static func posix(_ verb: String, _ path: String) -> BerthError {
        let reason = String(cString: strerror(errno))
        return BerthError(.internalError, "failed to \(verb) \(path): \(reason)")
    }
}
