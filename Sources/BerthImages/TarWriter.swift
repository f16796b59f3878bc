import BerthCore

/// Writes ustar archives in memory (GNU `L` records for names over 100 bytes). Used to build
/// the local busybox image and layers in tests; pulled layers are only ever read.
public struct TarWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func addDirectory(_ path: String, mode: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0) {
        append(path: path, type: "5", mode: mode, uid: uid, gid: gid, size: 0, link: "")
    }

    public mutating func addFile(_ path: String, contents: [UInt8], mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0) {
        append(path: path, type: "0", mode: mode, uid: uid, gid: gid, size: contents.count, link: "")
        bytes.append(contentsOf: contents)
        pad()
    }

    public mutating func addSymbolicLink(_ path: String, target: String) {
        append(path: path, type: "2", mode: 0o777, uid: 0, gid: 0, size: 0, link: target)
    }

    public mutating func addHardLink(_ path: String, target: String) {
        append(path: path, type: "1", mode: 0o644, uid: 0, gid: 0, size: 0, link: target)
    }

    /// The archive with its two zero end blocks.
    public mutating func finish() -> [UInt8] {
        bytes.append(contentsOf: [UInt8](repeating: 0, count: 1024))
        return bytes
    }

    private mutating func append(path: String, type: Character, mode: UInt32, uid: UInt32, gid: UInt32, size: Int, link: String) {
        if path.utf8.count > 100 {
            let name = Array(path.utf8) + [0]
            append(path: "././@LongLink", type: "L", mode: 0, uid: 0, gid: 0, size: name.count, link: "")
            bytes.append(contentsOf: name)
            pad()
        }
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, _ offset: Int, _ length: Int) {
            for (index, byte) in text.utf8.prefix(length).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, _ offset: Int, _ length: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits, offset, length - 1)
        }
        put(path, 0, 100)
        octal(Int(mode), 100, 8)
        octal(Int(uid), 108, 8)
        octal(Int(gid), 116, 8)
        octal(size, 124, 12)
        octal(0, 136, 12)
        header[156] = type.asciiValue!
        put(link, 157, 100)
        put("ustar\0", 257, 6)
        put("00", 263, 2)
        for index in 148..<156 { header[index] = 32 }
        let sum = header.reduce(0) { $0 + Int($1) }
        octal(sum, 148, 7)
        header[155] = 32
        bytes.append(contentsOf: header)
    }

    private mutating func pad() {
        let remainder = bytes.count % 512
        if remainder != 0 { bytes.append(contentsOf: [UInt8](repeating: 0, count: 512 - remainder)) }
    }
}
