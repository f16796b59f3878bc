import CZlib

/// SPDY/3 header blocks: name/value pairs, compressed as one zlib stream per direction with the
/// dictionary from the SPDY/3 draft (section 2.6.10.1). kubectl's port-forward client still
/// speaks SPDY/3.1, also when it tunnels it through a WebSocket.
enum SPDYHeaders {
    /// The dictionary: each header name with a 4-byte length, then a run of common values.
    /// Its Adler-32, 0xE3C6A7C2, is what a client's zlib header names; inflate checks it.
    static let dictionary: [UInt8] = {
        let names = [
        "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
        "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
        "content-base", "content-encoding", "content-language", "content-length", "content-location", "content-md5",
        "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host", "if-match",
        "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
        "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after",
        "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
        "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
        "keep-alive", "origin",
        ]
        let values = (
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Una" +
        "uthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service" +
        " UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, " +
        "Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,applicat" +
        "ion/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf" +
        "-8charset=iso-8859-1,utf-,*,enq=0.")
        var bytes: [UInt8] = []
        for name in names {
            let length = UInt32(name.utf8.count)
            bytes += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
            bytes += Array(name.utf8)
        }
        return bytes + Array(values.utf8)
    }()

    /// The uncompressed form: a count, then length-prefixed names and values.
    static func encodePairs(_ headers: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        func appendLength(_ value: Int) {
            let length = UInt32(value)
            out += [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
        }
        appendLength(headers.count)
        for (name, value) in headers {
            appendLength(name.utf8.count)
            out += Array(name.utf8)
            appendLength(value.utf8.count)
            out += Array(value.utf8)
        }
        return out
    }

    static func decodePairs(_ bytes: [UInt8]) throws(SPDYError) -> [String: String] {
        var cursor = 0
        func length() throws(SPDYError) -> Int {
            guard cursor + 4 <= bytes.count else { throw SPDYError("a truncated header block") }
            defer { cursor += 4 }
            return Int(bytes[cursor]) << 24 | Int(bytes[cursor + 1]) << 16 | Int(bytes[cursor + 2]) << 8 | Int(bytes[cursor + 3])
        }
        func text(_ count: Int) throws(SPDYError) -> String {
            guard count >= 0, cursor + count <= bytes.count else { throw SPDYError("a truncated header block") }
            defer { cursor += count }
            return String(decoding: bytes[cursor..<(cursor + count)], as: UTF8.self)
        }
        var headers: [String: String] = [:]
        let count = try length()
        guard count <= 1000 else { throw SPDYError("too many headers") }
        for _ in 0..<count {
            let name = try text(try length()).lowercased()
            // Several values are separated by NUL; port-forward headers carry one.
            let value = try text(try length())
            headers[name] = String(value.split(separator: "\0", omittingEmptySubsequences: false).first ?? "")
        }
        return headers
    }
}

struct SPDYError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The server's outgoing header stream. zlib's format allows stored (uncompressed) blocks, so
/// the blocks this writes need no deflate state: a zlib header without a preset dictionary
/// the first time, then each header block as one stored block and a sync-flush marker, never a
/// final block.
struct SPDYHeaderWriter {
    private var started = false

    mutating func block(_ headers: [(String, String)]) -> [UInt8] {
        let pairs = SPDYHeaders.encodePairs(headers)
        var out: [UInt8] = []
        if !started {
            out += [0x78, 0x01]  // deflate, 32 KB window, no dictionary; (0x7801 % 31 == 0)
            started = true
        }
        let length = UInt16(pairs.count)
        out += [0x00, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
        // Then an empty stored block, as zlib's Z_SYNC_FLUSH writes: a reader that has the
        // block's data hands it out on seeing this marker, without reading past the frame
        // (Go's inflater otherwise reads on, hits the frame's end and stays failed).
        return out + pairs + [0x00, 0x00, 0x00, 0xFF, 0xFF]
    }
}

/// The client's incoming header stream: one inflate context for the whole connection, given
/// the SPDY dictionary when the stream asks for it.
final class SPDYHeaderReader {
    static let maximumBlockBytes = 256 * 1024
    private var stream = z_stream()
    private var ready = false

    init() {
        ready = berth_inflate_init(&stream) == Z_OK
    }

    deinit { if ready { inflateEnd(&stream) } }

    func block(_ compressed: [UInt8]) throws(SPDYError) -> [String: String] {
        guard ready else { throw SPDYError("zlib is not available") }
        var input = compressed
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var status: Int32 = Z_OK
        input.withUnsafeMutableBufferPointer { inputBuffer in
            stream.next_in = inputBuffer.baseAddress
            stream.avail_in = uInt(inputBuffer.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { outputBuffer in
                    stream.next_out = outputBuffer.baseAddress
                    stream.avail_out = uInt(outputBuffer.count)
                    status = inflate(&stream, Z_SYNC_FLUSH)
                    if status == Z_NEED_DICT {
                        status = SPDYHeaders.dictionary.withUnsafeBufferPointer { inflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
                        if status == Z_OK { status = inflate(&stream, Z_SYNC_FLUSH) }
                    }
                    output += outputBuffer[0..<(outputBuffer.count - Int(stream.avail_out))]
                }
            } while status == Z_OK && (stream.avail_in > 0 || stream.avail_out == 0) && output.count <= Self.maximumBlockBytes
            stream.next_in = nil
        }
        // A few kilobytes of deflate can inflate to gigabytes: a header block is small.
        guard output.count <= Self.maximumBlockBytes else {
            throw SPDYError("header block inflates to more than \(Self.maximumBlockBytes) bytes")
        }
        guard status == Z_OK || status == Z_BUF_ERROR || status == Z_STREAM_END else {
            throw SPDYError("header block does not inflate (zlib status \(status))")
        }
        return try SPDYHeaders.decodePairs(output)
    }
}
