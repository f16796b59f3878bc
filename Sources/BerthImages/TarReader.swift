import BerthCore

/// One tar entry's header, with pax and GNU long-name extensions already applied.
struct TarEntry {
    enum Kind { case file, hardLink, symbolicLink, characterDevice, blockDevice, directory, fifo }

    var path: String
    var kind: Kind
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var modificationTime: Int64
    var linkTarget: String
    var deviceMajor: UInt32
    var deviceMinor: UInt32
}

/// Reads POSIX ustar archives with pax (`x`, `g`) and GNU (`L`, `K`) extensions, the formats image
/// layers use. Entry data is streamed through `readData`; anything not read is skipped.
final class TarReader {
    private let source: ByteSource
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var remainingData: Int64 = 0
    private var remainingPadding = 0

    init(_ source: ByteSource) { self.source = source }

    /// The next entry, or nil at the end of the archive.
    func next() throws(BerthError) -> TarEntry? {
        try skip(Int(remainingData) + remainingPadding)
        remainingData = 0
        remainingPadding = 0
        var paxPath: String?
        var paxLink: String?
        var paxSize: Int64?
        while true {
            guard let header = try readBlock() else { return nil }
            if header.allSatisfy({ $0 == 0 }) { return nil }
            try Self.checkChecksum(header)
            let type = header[156]
            var size = try Self.number(header, 124, 12)
            if let paxSize { size = paxSize }
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                let records = try readExtension(size: size)
                if type == UInt8(ascii: "x") {
                    let fields = Self.paxFields(records)
                    paxPath = fields["path"] ?? paxPath
                    paxLink = fields["linkpath"] ?? paxLink
                    if let text = fields["size"], let value = Int64(text) { paxSize = value }
                }
                continue
            case UInt8(ascii: "L"):
                paxPath = Self.cString(try readExtension(size: size), 0, Int(size))
                continue
            case UInt8(ascii: "K"):
                paxLink = Self.cString(try readExtension(size: size), 0, Int(size))
                continue
            default:
                break
            }
            var path = Self.cString(header, 0, 100)
            if header[257..<262].elementsEqual("ustar".utf8) {
                let prefix = Self.cString(header, 345, 155)
                if !prefix.isEmpty { path = prefix + "/" + path }
            }
            let kind: TarEntry.Kind
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "1"): kind = .hardLink
            case UInt8(ascii: "2"): kind = .symbolicLink
            case UInt8(ascii: "3"): kind = .characterDevice
            case UInt8(ascii: "4"): kind = .blockDevice
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "6"): kind = .fifo
            default:
                throw BerthError(.badRequest, "unsupported tar entry type \(type) for \(path)")
            }
            let entry = TarEntry(
                path: paxPath ?? path, kind: kind,
                mode: UInt32(truncatingIfNeeded: try Self.number(header, 100, 8)),
                uid: UInt32(truncatingIfNeeded: try Self.number(header, 108, 8)),
                gid: UInt32(truncatingIfNeeded: try Self.number(header, 116, 8)),
                size: kind == .file ? size : 0,
                modificationTime: try Self.number(header, 136, 12),
                linkTarget: paxLink ?? Self.cString(header, 157, 100),
                deviceMajor: UInt32(truncatingIfNeeded: try Self.number(header, 329, 8)),
                deviceMinor: UInt32(truncatingIfNeeded: try Self.number(header, 337, 8)))
            guard entry.size >= 0 else { throw BerthError(.badRequest, "negative size in tar entry \(entry.path)") }
            remainingData = entry.size
            remainingPadding = Int((512 - entry.size % 512) % 512)
            return entry
        }
    }

    /// Reads the current entry's data in chunks; returns 0 when it is all read.
    func readData(into target: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        guard remainingData > 0 else { return 0 }
        let wanted = Int(min(Int64(target.count), remainingData))
        let count = try readSome(into: UnsafeMutableRawBufferPointer(rebasing: target[0..<wanted]))
        guard count > 0 else { throw BerthError(.badRequest, "failed to read layer: archive truncated inside an entry") }
        remainingData -= Int64(count)
        return count
    }

    // MARK: - Buffered reading

    private func fill(minimum: Int) throws(BerthError) -> Bool {
        while buffer.count - bufferStart < minimum {
            if bufferStart > 0 {
                buffer.removeFirst(bufferStart)
                bufferStart = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = try chunk.withMutableBytes { (raw) throws(BerthError) in try source.read(into: raw) }
            if count == 0 { return false }
            buffer.append(contentsOf: chunk[0..<count])
        }
        return true
    }

    private func readBlock() throws(BerthError) -> [UInt8]? {
        guard try fill(minimum: 512) else {
            if buffer.count == bufferStart { return nil }
            throw BerthError(.badRequest, "failed to read layer: archive truncated inside a header")
        }
        let block = Array(buffer[bufferStart..<bufferStart + 512])
        bufferStart += 512
        return block
    }

    private func readSome(into target: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        if buffer.count == bufferStart {
            // Large file data bypasses the buffer.
            if target.count >= 1 << 16 { return try source.read(into: target) }
            guard try fill(minimum: 1) else { return 0 }
        }
        let count = min(target.count, buffer.count - bufferStart)
        buffer.withUnsafeBytes { raw in
            target.baseAddress!.copyMemory(from: raw.baseAddress! + bufferStart, byteCount: count)
        }
        bufferStart += count
        return count
    }

    private func skip(_ count: Int) throws(BerthError) {
        var left = count
        var scratch = [UInt8](repeating: 0, count: 1 << 16)
        while left > 0 {
            let chunk = min(left, scratch.count)
            let read = try scratch.withMutableBytes { (raw) throws(BerthError) in
                try readSome(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<chunk]))
            }
            guard read > 0 else { throw BerthError(.badRequest, "failed to read layer: archive truncated") }
            left -= read
        }
    }

    private func readExtension(size: Int64) throws(BerthError) -> [UInt8] {
        guard size >= 0, size <= 1 << 20 else { throw BerthError(.badRequest, "tar extension header too large (\(size) bytes)") }
        var data = [UInt8](repeating: 0, count: Int(size))
        var filled = 0
        while filled < data.count {
            let read = try data.withMutableBytes { (raw) throws(BerthError) in
                try readSome(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled...]))
            }
            guard read > 0 else { throw BerthError(.badRequest, "failed to read layer: archive truncated in an extension header") }
            filled += read
        }
        try skip(Int((512 - size % 512) % 512))
        return data
    }

    // MARK: - Header fields

    static func cString(_ bytes: [UInt8], _ offset: Int, _ length: Int) -> String {
        let end = min(offset + length, bytes.count)
        let slice = bytes[offset..<end]
        let stop = slice.firstIndex(of: 0) ?? end
        return String(decoding: bytes[offset..<stop], as: UTF8.self)
    }

    /// Octal (space/NUL terminated) or GNU base-256 (high bit set) numbers.
    static func number(_ bytes: [UInt8], _ offset: Int, _ length: Int) throws(BerthError) -> Int64 {
        let field = bytes[offset..<offset + length]
        if let first = field.first, first & 0x80 != 0 {
            var value: Int64 = Int64(first & 0x3f)
            for byte in field.dropFirst() {
                guard value < Int64.max >> 8 else { throw BerthError(.badRequest, "tar number field overflows") }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        var value: Int64 = 0
        for byte in field {
            if byte == 0 || byte == UInt8(ascii: " ") { if value > 0 { break } else { continue } }
            guard byte >= 48 && byte <= 55 else { throw BerthError(.badRequest, "invalid octal number in tar header") }
            guard value < Int64.max >> 3 else { throw BerthError(.badRequest, "tar number field overflows") }
            value = value * 8 + Int64(byte - 48)
        }
        return value
    }

    private static func checkChecksum(_ header: [UInt8]) throws(BerthError) {
        let stored = try number(header, 148, 8)
        var sum: Int64 = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 32 : Int64(byte) }
        guard stored == sum else { throw BerthError(.badRequest, "failed to read layer: tar header checksum mismatch") }
    }

    /// pax records: "LENGTH key=value\n".
    static func paxFields(_ data: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        var index = 0
        while index < data.count {
            guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: data[index..<space], as: UTF8.self)), length > 0,
                  index + length <= data.count else { break }
            let record = data[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                fields[String(decoding: record[record.startIndex..<equals], as: UTF8.self)] =
                    String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return fields
    }
}
