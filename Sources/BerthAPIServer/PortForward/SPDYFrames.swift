/// SPDY/3.1 framing (the draft's section 2.2): an 8-byte header, then the payload. A control
/// frame starts with the high bit set, the version (3) and a type; a data frame with a 31-bit
/// stream ID. Only what port-forwarding uses is decoded; other control frames are skipped.
enum SPDYFrame: Equatable {
    case synStream(streamID: UInt32, finished: Bool, headerBlock: [UInt8])
    case data(streamID: UInt32, finished: Bool, bytes: [UInt8])
    case reset(streamID: UInt32, status: UInt32)
    case ping(id: UInt32)
    case goAway
    /// SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY from a client: nothing to act on.
    case ignored

    static let flagFin: UInt8 = 0x01
    static let maximumLength = 16 << 20

    enum ControlType: UInt16 {
        case synStream = 1, synReply = 2, rstStream = 3, settings = 4, ping = 6, goAway = 7, headers = 8, windowUpdate = 9
    }

    /// Frames cut from a byte stream that arrives in arbitrary pieces (WebSocket messages).
    struct Parser {
        private var buffer: [UInt8] = []
        private var start = 0

        mutating func append(_ bytes: [UInt8]) {
            if start > 0 && start == buffer.count {
                buffer.removeAll(keepingCapacity: true)
                start = 0
            }
            buffer += bytes
        }

        mutating func next() throws(SPDYError) -> SPDYFrame? {
            guard buffer.count - start >= 8 else { return nil }
            let header = Array(buffer[start..<(start + 8)])
            let length = Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
            guard length <= SPDYFrame.maximumLength else { throw SPDYError("a frame of \(length) bytes") }
            guard buffer.count - start >= 8 + length else { return nil }
            let payload = Array(buffer[(start + 8)..<(start + 8 + length)])
            start += 8 + length
            if start > 65536 {
                buffer.removeFirst(start)
                start = 0
            }
            let flags = header[4]
            guard header[0] & 0x80 != 0 else {
                return .data(streamID: word(header, 0) & 0x7FFF_FFFF, finished: flags & SPDYFrame.flagFin != 0, bytes: payload)
            }
            let version = (UInt16(header[0] & 0x7F) << 8) | UInt16(header[1])
            guard version == 3 else { throw SPDYError("SPDY version \(version); only 3 is spoken") }
            switch ControlType(rawValue: UInt16(header[2]) << 8 | UInt16(header[3])) {
            case .synStream:
                guard payload.count >= 10 else { throw SPDYError("a short SYN_STREAM") }
                return .synStream(streamID: word(payload, 0) & 0x7FFF_FFFF, finished: flags & SPDYFrame.flagFin != 0, headerBlock: Array(payload[10...]))
            case .rstStream:
                guard payload.count >= 8 else { throw SPDYError("a short RST_STREAM") }
                return .reset(streamID: word(payload, 0) & 0x7FFF_FFFF, status: word(payload, 4))
            case .ping:
                guard payload.count >= 4 else { throw SPDYError("a short PING") }
                return .ping(id: word(payload, 0))
            case .goAway:
                return .goAway
            default:
                return .ignored
            }
        }

        private func word(_ bytes: [UInt8], _ at: Int) -> UInt32 {
            UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
        }
    }

    // MARK: - Encoding what the server sends

    static func control(_ type: ControlType, flags: UInt8 = 0, _ payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [0x80, 0x03, UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), flags,
                UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + payload
    }

    static func synReply(streamID: UInt32, headerBlock: [UInt8]) -> [UInt8] {
        control(.synReply, bytes(streamID & 0x7FFF_FFFF) + headerBlock)
    }

    static func data(streamID: UInt32, finished: Bool, _ payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return bytes(streamID & 0x7FFF_FFFF) + [finished ? flagFin : 0, UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + payload
    }

    static func reset(streamID: UInt32, status: UInt32) -> [UInt8] {
        control(.rstStream, bytes(streamID & 0x7FFF_FFFF) + bytes(status))
    }

    static func ping(id: UInt32) -> [UInt8] { control(.ping, bytes(id)) }

    static func bytes(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
