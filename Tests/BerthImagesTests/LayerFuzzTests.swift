@testable import BerthImages
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Hostile layers at volume (issue 26): a valid tar (files, directories, links, a pax long name)
/// mutated many ways — flipped bytes, header fields overwritten with garbage or huge numbers,
/// truncation, repeated blocks — and unpacked. Every input ends in an unpacked tree or a
/// `BerthError`: never a crash (the test process would die), a hang (the suite's time bound),
/// or a write outside the layer's root. `FUZZ_ITERATIONS` scales it up; `FUZZ_SEED` replays.
@Suite("fuzzing layers", .blockingAllowed)
struct LayerFuzzTests {
    static let iterations = ProcessInfo.processInfo.environment["FUZZ_ITERATIONS"].flatMap(Int.init) ?? 300
    static let seed = ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init) ?? 0x7A12_F0CC

    /// xorshift64*: the same inputs for the same seed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    }

    static func seedArchive() -> [UInt8] {
        var tar = TarWriter()
        tar.addDirectory("etc")
        tar.addFile("etc/hostname", contents: Array("box\n".utf8))
        tar.addFile("etc/" + String(repeating: "long-name-", count: 12) + "file", contents: Array(repeating: 7, count: 3000))
        tar.addSymbolicLink("etc/link", target: "hostname")
        tar.addHardLink("etc/hard", target: "etc/hostname")
        tar.addDirectory("var/lib")
        tar.addFile("var/lib/data", contents: Array(repeating: 1, count: 1024))
        return tar.finish()
    }

    static func mutate(_ input: [UInt8], _ random: inout Random) -> [UInt8] {
        var bytes = input
        for _ in 0..<(1 + random.below(4)) {
            guard !bytes.isEmpty else { break }
            switch random.below(6) {
            case 0:  // flip bytes anywhere
                for _ in 0..<(1 + random.below(16)) { bytes[random.below(bytes.count)] ^= UInt8(truncatingIfNeeded: random.next() | 1) }
            case 1:  // a header's size field (offset 124, 12 octal digits) becomes garbage or huge
                let block = random.below(bytes.count / 512) * 512
                let text: [UInt8] = [Array("77777777777\0".utf8), Array("-1\0\0\0\0\0\0\0\0\0\0".utf8), Array("zzzzzzzzzzz\0".utf8),
                                     [0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]][random.below(4)]
                if block + 136 <= bytes.count { bytes.replaceSubrange((block + 124)..<(block + 136), with: text) }
            case 2:  // a name field with traversal or no terminator
                let block = random.below(bytes.count / 512) * 512
                let name = [Array("../../outside/x".utf8), Array("/outside/y".utf8), Array(repeating: UInt8(ascii: "a"), count: 100)][random.below(3)]
                if block + 100 <= bytes.count { bytes.replaceSubrange(block..<(block + min(100, name.count)), with: name.prefix(100)) }
            case 3:  // truncate
                bytes = Array(bytes.prefix(random.below(bytes.count)))
            case 4:  // the type flag becomes anything
                let block = random.below(bytes.count / 512) * 512
                if block + 157 <= bytes.count { bytes[block + 156] = UInt8(truncatingIfNeeded: random.next()) }
            default:  // a block repeated
                let block = random.below(bytes.count / 512) * 512
                if block + 512 <= bytes.count { bytes.insert(contentsOf: bytes[block..<(block + 512)], at: block) }
            }
        }
        return bytes
    }

    @Test("mutated layers unpack or fail cleanly, and never write outside their root")
    func mutatedLayers() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("berth-layer-fuzz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch + "/outside", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var random = Random(state: Self.seed)
        let archive = Self.seedArchive()
        var failures = 0
        for iteration in 0..<Self.iterations {
            let root = scratch + "/root"
            try? FileManager.default.removeItem(atPath: root)
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            let input = Self.mutate(archive, &random)
            let path = scratch + "/layer.tar"
            FileManager.default.createFile(atPath: path, contents: Data(input))
            do throws(BerthError) {
                _ = try LayerUnpacker(root: root).unpack(try FileByteSource(path: path))
            } catch {
                failures += 1
            }
            let outside = (try? FileManager.default.contentsOfDirectory(atPath: scratch + "/outside")) ?? []
            #expect(outside.isEmpty, "iteration \(iteration) (seed \(Self.seed)) wrote outside the root: \(outside)")
            if !outside.isEmpty { break }
        }
        // Most mutations break the archive; some leave it readable. Both must have happened.
        #expect(failures > 0 && failures < Self.iterations, "\(failures) of \(Self.iterations) refused")
    }
}
