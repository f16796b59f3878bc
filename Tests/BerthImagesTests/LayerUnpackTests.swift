@testable import BerthImages
import BerthCore
import BerthTestSupport
import CBerthSys
import Foundation
import Testing

/// Unpacking real tar streams into a scratch directory: whiteouts, ownership, and every way a
/// hostile layer tries to write outside its root. Needs root (chown, mknod, trusted xattrs).
@Suite("layer unpacking", .blockingAllowed)
struct LayerUnpackTests {
    let scratch: String

    init() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("berth-layer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch + "/root", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: scratch + "/outside", withIntermediateDirectories: true)
    }

    func unpack(_ tar: [UInt8]) throws(BerthError) -> Digest {
        let path = scratch + "/layer.tar"
        FileManager.default.createFile(atPath: path, contents: Data(tar))
        return try LayerUnpacker(root: scratch + "/root").unpack(try FileByteSource(path: path))
    }

    func outsideIsEmpty() -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: scratch + "/outside")) ?? ["?"]).isEmpty
    }

    @Test("files, directories, links, modes and owners are kept; the diff ID covers the whole tar")
    func regular() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var tar = TarWriter()
        tar.addDirectory("etc", mode: 0o750, uid: 7, gid: 8)
        tar.addFile("etc/app.conf", contents: Array("x=1\n".utf8), mode: 0o640, uid: 1000, gid: 1001)
        tar.addSymbolicLink("etc/link", target: "/etc/app.conf")
        tar.addHardLink("etc/hard", target: "etc/app.conf")
        tar.addFile(String(repeating: "d/", count: 60) + "deep", contents: [1, 2, 3])
        let bytes = tar.finish()
        let diffID = try unpack(bytes)
        #expect(diffID == Digest.sha256(of: bytes))
        let root = scratch + "/root"
        #expect(try String(contentsOfFile: root + "/etc/app.conf", encoding: .utf8) == "x=1\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: root + "/etc/app.conf")
        #expect((attributes[.posixPermissions] as? Int) == 0o640)
        #expect((attributes[.ownerAccountID] as? Int) == 1000)
        #expect((attributes[.groupOwnerAccountID] as? Int) == 1001)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/etc/link") == "/etc/app.conf")
        #expect((try FileManager.default.attributesOfItem(atPath: root + "/etc/hard")[.referenceCount] as? Int) == 2)
        #expect(FileManager.default.fileExists(atPath: root + "/" + String(repeating: "d/", count: 60) + "deep"))
    }

    @Test("gzip layers unpack to the same diff ID as the plain tar")
    func gzip() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var tar = TarWriter()
        tar.addFile("hello.txt", contents: Array(repeating: UInt8(ascii: "a"), count: 200_000))
        let plain = tar.finish()
        FileManager.default.createFile(atPath: scratch + "/plain.tar", contents: Data(plain))
        let gzip = try Process.run(URL(fileURLWithPath: "/bin/gzip"), arguments: ["-k", scratch + "/plain.tar"])
        gzip.waitUntilExit()
        let source = try GzipByteSource(try FileByteSource(path: scratch + "/plain.tar.gz"))
        let diffID = try LayerUnpacker(root: scratch + "/root").unpack(source)
        #expect(diffID == Digest.sha256(of: plain))
        #expect((try FileManager.default.attributesOfItem(atPath: scratch + "/root/hello.txt")[.size] as? Int) == 200_000)
    }

    /// Compresses `bytes` with the zstd CLI, as one frame.
    func zstdFrame(_ bytes: [UInt8], name: String) throws -> [UInt8] {
        let path = scratch + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        let zstd = try Process.run(URL(fileURLWithPath: "/usr/bin/zstd"), arguments: ["-q", "-f", "-3", path, "-o", path + ".zst"])
        zstd.waitUntilExit()
        return Array(try Data(contentsOf: URL(fileURLWithPath: path + ".zst")))
    }

    @Test("zstd layers unpack to the same diff ID as the plain tar, also as several frames")
    func zstd() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var tar = TarWriter()
        tar.addFile("hello.txt", contents: Array(repeating: UInt8(ascii: "z"), count: 300_000))
        let random = (0..<200_000).map { _ in UInt8.random(in: 0...255) }
        tar.addFile("random.bin", contents: random)
        let plain = tar.finish()
        // Two frames split mid-file: the decoder must carry on across the frame boundary.
        let half = plain.count / 2
        let compressed = try zstdFrame(Array(plain[..<half]), name: "a") + zstdFrame(Array(plain[half...]), name: "b")
        #expect(LayerCompression.sniff(compressed) == .zstd)
        FileManager.default.createFile(atPath: scratch + "/layer.zst", contents: Data(compressed))
        let source = try ZstdByteSource(try FileByteSource(path: scratch + "/layer.zst"))
        let diffID = try LayerUnpacker(root: scratch + "/root").unpack(source)
        #expect(diffID == Digest.sha256(of: plain))
        #expect((try FileManager.default.attributesOfItem(atPath: scratch + "/root/hello.txt")[.size] as? Int) == 300_000)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch + "/root/random.bin")) == Data(random))
    }

    @Test("truncated or corrupt zstd layers are refused with a clear reason")
    func zstdDamaged() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var tar = TarWriter()
        tar.addFile("data.bin", contents: (0..<100_000).map { _ in UInt8.random(in: 0...255) })
        let compressed = try zstdFrame(tar.finish(), name: "layer")
        var corrupt = compressed
        for index in stride(from: 40, to: corrupt.count - 8, by: 97) { corrupt[index] ^= 0x5a }
        let cases: [(String, [UInt8], String)] = [
            ("truncated", Array(compressed[..<(compressed.count / 2)]), "truncated zstd"),
            ("corrupt", corrupt, "corrupt zstd"),
        ]
        for (name, bytes, reason) in cases {
            let root = scratch + "/root-" + name
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: scratch + "/" + name + ".zst", contents: Data(bytes))
            let error = #expect(throws: BerthError.self) {
                _ = try LayerUnpacker(root: root).unpack(try ZstdByteSource(try FileByteSource(path: scratch + "/" + name + ".zst")))
            }
            #expect(error?.message.contains(reason) == true, "\(name): \(error?.message ?? "no error")")
        }
    }

    @Test("whiteouts and opaque directories become overlayfs markers")
    func whiteouts() throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var tar = TarWriter()
        tar.addDirectory("data")
        tar.addFile("data/.wh..wh..opq", contents: [])
        tar.addFile("etc/.wh.passwd", contents: [])
        _ = try unpack(tar.finish())
        var info = stat()
        #expect(lstat(scratch + "/root/etc/passwd", &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFCHR && info.st_rdev == 0)
        #expect(berth_is_opaque(scratch + "/root/data") == 1)
        #expect(!FileManager.default.fileExists(atPath: scratch + "/root/data/.wh..wh..opq"))
    }

    @Test("hostile entries are refused and write nothing outside the root", arguments: HostileLayer.allCases)
    func hostile(layer: HostileLayer) throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let error = #expect(throws: BerthError.self) { _ = try unpack(layer.archive(outside: scratch + "/outside")) }
        #expect(error?.message.contains("refusing") == true)
        #expect(outsideIsEmpty())
    }

    enum HostileLayer: CaseIterable, Sendable {
        case dotDot, absolute, symlinkParent, symlinkThenFile, hardLinkOutside, hardLinkThroughSymlink

        func archive(outside: String) -> [UInt8] {
            var tar = TarWriter()
            switch self {
            case .dotDot:
                tar.addFile("../outside/evil", contents: [1])
            case .absolute:
                tar.addFile(outside + "/evil", contents: [1])
            case .symlinkParent:
                tar.addSymbolicLink("escape", target: outside)
                tar.addFile("escape/evil", contents: [1])
            case .symlinkThenFile:
                tar.addSymbolicLink("a", target: "../outside")
                tar.addDirectory("a/b")
            case .hardLinkOutside:
                tar.addHardLink("evil", target: "../outside/x")
            case .hardLinkThroughSymlink:
                tar.addSymbolicLink("lnk", target: "/etc")
                tar.addHardLink("shadow", target: "lnk/shadow")
            }
            return tar.finish()
        }
    }
}
