import BerthCore
import CBerthSys
import Glibc

/// Unpacks one image layer into a directory that becomes an overlayfs lower dir.
///
/// Safety: every entry's path is checked before anything is written. Absolute paths and `..`
/// components are refused; every parent directory is checked with `lstat` so a symbolic link
/// planted by an earlier entry can never redirect a write; hard links must name an existing entry
/// inside the layer. Files are created with `O_EXCL|O_NOFOLLOW`. Whiteouts (`.wh.NAME`) become
/// overlayfs whiteouts (character device 0:0) and opaque markers (`.wh..wh..opq`) the
/// `trusted.overlay.opaque` xattr, so stacking the layers gives the image's file system.
struct LayerUnpacker {
    let root: String

    /// Unpacks the stream and returns the digest of the uncompressed tar (the layer's diff ID).
    func unpack(_ source: ByteSource) throws(BerthError) -> Digest {
        let hashing = HashingByteSource(source)
        let reader = TarReader(hashing)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while let entry = try reader.next() {
            try apply(entry, reader: reader, chunk: &chunk)
        }
        // Hash the trailing zero blocks and any padding too: the diff ID covers every byte.
        while try chunk.withMutableBytes({ (raw) throws(BerthError) in try hashing.read(into: raw) }) > 0 {}
        return hashing.hasher.finalize()
    }

    private func apply(_ entry: TarEntry, reader: TarReader, chunk: inout [UInt8]) throws(BerthError) {
        let components = try Self.components(of: entry.path)
        guard let base = components.last else { return }  // the archive root itself ("./")
        let parent = try ensureParents(Array(components.dropLast()), for: entry.path)
        if base == ".wh..wh..opq" {
            guard berth_set_opaque(parent) == 0 else { throw BerthError.posix("mark opaque", parent) }
            return
        }
        if base.hasPrefix(".wh.") {
            let hidden = "\(parent)/\(base.dropFirst(4))"
            try clear(hidden, keepDirectory: false)
            guard berth_mknod(hidden, UInt32(Glibc.S_IFCHR), 0, 0) == 0 else { throw BerthError.posix("create whiteout", hidden) }
            return
        }
        let target = "\(parent)/\(base)"
        try clear(target, keepDirectory: entry.kind == .directory)
        switch entry.kind {
        case .directory:
            if mkdir(target, 0o700) != 0 && errno != EEXIST { throw BerthError.posix("mkdir", target) }
        case .file:
            let file = try PosixFile(path: target, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
            while true {
                let count = try chunk.withMutableBytes { (raw) throws(BerthError) in try reader.readData(into: raw) }
                if count == 0 { break }
                try chunk.withBytes { (raw) throws(BerthError) in try file.write(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
            }
        case .symbolicLink:
            guard symlink(entry.linkTarget, target) == 0 else { throw BerthError.posix("symlink", target) }
        case .hardLink:
            let linked = try resolveHardLink(entry)
            guard link(linked, target) == 0 else { throw BerthError.posix("hard link", target) }
            return  // a hard link shares the inode: its owner and mode are the target's
        case .characterDevice, .blockDevice:
            let type = entry.kind == .characterDevice ? Glibc.S_IFCHR : Glibc.S_IFBLK
            guard berth_mknod(target, UInt32(type) | 0o600, entry.deviceMajor, entry.deviceMinor) == 0 else { throw BerthError.posix("mknod", target) }
        case .fifo:
            guard mkfifo(target, 0o600) == 0 else { throw BerthError.posix("mkfifo", target) }
        }
        // Owner before mode: chown clears set-id bits.
        guard lchown(target, entry.uid, entry.gid) == 0 else { throw BerthError.posix("chown", target) }
        if entry.kind != .symbolicLink {
            guard chmod(target, mode_t(entry.mode & 0o7777)) == 0 else { throw BerthError.posix("chmod", target) }
        }
        var times = [timespec(tv_sec: Int(entry.modificationTime), tv_nsec: 0), timespec(tv_sec: Int(entry.modificationTime), tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, target, &times, AT_SYMLINK_NOFOLLOW)
    }

    /// Splits an entry path into components, refusing anything that could leave the root.
    static func components(of path: String) throws(BerthError) -> [String] {
        guard !path.hasPrefix("/") else {
            throw BerthError(.badRequest, "refusing layer entry \"\(path)\": absolute path")
        }
        var components: [String] = []
        for component in path.split(separator: "/") where component != "." {
            guard component != ".." else { throw BerthError(.badRequest, "refusing layer entry \"\(path)\": \"..\" escapes the root") }
            components.append(String(component))
        }
        return components
    }

    /// Creates missing parents and checks existing ones are real directories, not links.
    private func ensureParents(_ components: [String], for entryPath: String) throws(BerthError) -> String {
        var current = root
        for component in components {
            current += "/\(component)"
            var info = stat()
            if lstat(current, &info) != 0 {
                guard mkdir(current, 0o755) == 0 else { throw BerthError.posix("mkdir", current) }
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: continue
            case S_IFLNK: throw BerthError(.badRequest, "refusing layer entry \"\(entryPath)\": parent \"\(component)\" is a symbolic link")
            default: throw BerthError(.badRequest, "refusing layer entry \"\(entryPath)\": parent \"\(component)\" is not a directory")
            }
        }
        return current
    }

    /// Removes what is at `path` so the entry can take its place (a directory over a directory stays).
    private func clear(_ path: String, keepDirectory: Bool) throws(BerthError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            if keepDirectory { return }
            PosixFS.removeTree(path)
        } else if unlink(path) != 0 {
            throw BerthError.posix("replace", path)
        }
    }

    private func resolveHardLink(_ entry: TarEntry) throws(BerthError) -> String {
        let components: [String]
        do { components = try Self.components(of: entry.linkTarget) } catch {
            throw BerthError(.badRequest, "refusing hard link \"\(entry.path)\": target \"\(entry.linkTarget)\" escapes the root")
        }
        guard !components.isEmpty else { throw BerthError(.badRequest, "refusing hard link \"\(entry.path)\": empty target") }
        var current = root
        for (index, component) in components.enumerated() {
            current += "/\(component)"
            var info = stat()
            guard lstat(current, &info) == 0 else {
                throw BerthError(.badRequest, "refusing hard link \"\(entry.path)\": target \"\(entry.linkTarget)\" is not in the layer")
            }
            let type = info.st_mode & S_IFMT
            if index < components.count - 1 && type != S_IFDIR {
                throw BerthError(.badRequest, "refusing hard link \"\(entry.path)\": target path crosses a link or file")
            }
            if index == components.count - 1 && type == S_IFDIR {
                throw BerthError(.badRequest, "refusing hard link \"\(entry.path)\": target is a directory")
            }
        }
        return current
    }
}
