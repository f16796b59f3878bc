import BerthCore
import CZlib
import Glibc

/// A pull-based stream of bytes: layers are read, decompressed and unpacked in one pass, without
/// ever holding a whole layer in memory.
protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes; returns 0 only at the end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int
}

final class FileByteSource: ByteSource {
    private let file: PosixFile

    init(path: String) throws(BerthError) { file = try PosixFile(path: path, flags: O_RDONLY) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int { try file.read(into: buffer) }
}

/// gzip (or zlib) decompression over another source; concatenated gzip members are read as one
/// stream, as `gzip -d` does.
final class GzipByteSource: ByteSource {
    private let input: ByteSource
    private var stream = z_stream()
    private var inputBuffer: UnsafeMutableRawBufferPointer
    private var inputEnded = false
    private var finished = false

    init(_ input: ByteSource) throws(BerthError) {
        self.input = input
        inputBuffer = .allocate(byteCount: 1 << 16, alignment: 16)
        guard berth_inflate_init(&stream) == Z_OK else {
            inputBuffer.deallocate()
            throw BerthError(.internalError, "failed to start gzip decompression")
        }
    }

    deinit {
        inflateEnd(&stream)
        inputBuffer.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        guard !finished, buffer.count > 0 else { return 0 }
        stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = UInt32(buffer.count)
        while stream.avail_out > 0 {
            if stream.avail_in == 0 && !inputEnded {
                let count = try input.read(into: inputBuffer)
                if count == 0 { inputEnded = true } else {
                    stream.next_in = inputBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_in = UInt32(count)
                }
            }
            let result = inflate(&stream, Z_NO_FLUSH)
            if result == Z_STREAM_END {
                // Another gzip member may follow; if no input remains, the stream is done.
                if stream.avail_in == 0 {
                    let more = inputEnded ? false : try refill()
                    if !more { finished = true; break }
                }
                inflateReset(&stream)
                continue
            }
            if result == Z_BUF_ERROR && stream.avail_in == 0 && inputEnded {
                throw BerthError(.badRequest, "failed to decompress layer: truncated gzip stream")
            }
            guard result == Z_OK || result == Z_BUF_ERROR else {
                throw BerthError(.badRequest, "failed to decompress layer: corrupt gzip data (zlib \(result))")
            }
        }
        return buffer.count - Int(stream.avail_out)
    }

    private func refill() throws(BerthError) -> Bool {
        let count = try input.read(into: inputBuffer)
        if count == 0 { inputEnded = true; return false }
        stream.next_in = inputBuffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_in = UInt32(count)
        return true
    }
}

/// Hashes everything read through it: the unpacker checks a layer's uncompressed digest (its
/// diff ID) while it unpacks.
final class HashingByteSource: ByteSource {
    private let input: ByteSource
    private(set) var hasher = DigestHasher(algorithm: "sha256")

    init(_ input: ByteSource) { self.input = input }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        let count = try input.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        return count
    }
}

/// Sniffs the first bytes of a layer blob: gzip starts with 1f 8b, zstd with 28 b5 2f fd.
enum LayerCompression {
    case none, gzip, zstd

    static func detect(path: String) throws(BerthError) -> LayerCompression {
        let file = try PosixFile(path: path, flags: O_RDONLY)
        var head = [UInt8](repeating: 0, count: 4)
        let count = try head.withMutableBytes { (buffer) throws(BerthError) in try file.read(into: buffer) }
        return sniff(head[..<count])
    }

    static func sniff(_ head: some Collection<UInt8>) -> LayerCompression {
        let bytes = Array(head.prefix(4))
        if bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b { return .gzip }
        if bytes == [0x28, 0xb5, 0x2f, 0xfd] { return .zstd }
        return .none
    }
}
