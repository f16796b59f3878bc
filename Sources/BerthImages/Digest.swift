import BerthCore
import Crypto

/// A content digest such as `sha256:9f86d0…`. Only sha256 is produced; sha512 is accepted on input
/// because the OCI spec allows it, and verified the same way.
public struct Digest: Hashable, Sendable, CustomStringConvertible, Codable {
    public let algorithm: String
    public let hex: String

    public init(parsing text: String) throws(BerthError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw BerthError(.badRequest, "invalid digest \"\(text)\": expected ALGORITHM:HEX")
        }
        let algorithm = String(text[..<colon])
        let hex = String(text[text.index(after: colon)...])
        let expectedLength = switch algorithm { case "sha256": 64; case "sha512": 128; default: -1 }
        guard expectedLength > 0 else { throw BerthError(.badRequest, "unsupported digest algorithm \"\(algorithm)\"") }
        guard hex.utf8.count == expectedLength, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw BerthError(.badRequest, "invalid digest \"\(text)\": expected \(expectedLength) lowercase hex digits")
        }
        self.algorithm = algorithm
        self.hex = hex
    }

    init(sha256 hex: String) {
        algorithm = "sha256"
        self.hex = hex
    }

    public var description: String { "\(algorithm):\(hex)" }

    public static func sha256<Bytes: Sequence>(of bytes: Bytes) -> Digest where Bytes.Element == UInt8 {
        var hasher = DigestHasher(algorithm: "sha256")
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { self = try Digest(parsing: text) } catch { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Incremental hashing for streams (layers are hashed while they are written, never re-read).
public struct DigestHasher: Sendable {
    private var sha256 = SHA256()
    private var sha512 = SHA512()
    let algorithm: String

    public init(algorithm: String) { self.algorithm = algorithm }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if algorithm == "sha512" { sha512.update(bufferPointer: bytes) } else { sha256.update(bufferPointer: bytes) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public func finalize() -> Digest {
        let bytes: [UInt8] = algorithm == "sha512" ? Array(sha512.finalize()) : Array(sha256.finalize())
        let hex = bytes.map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }.joined()
        return algorithm == "sha512" ? (try! Digest(parsing: "sha512:\(hex)")) : Digest(sha256: hex)
    }
}
