import BerthCore
import Hummingbird

/// Just enough of the protobuf wire format to read the small bodies typed Kubernetes clients
/// send as `application/vnd.kubernetes.protobuf` where no JSON fallback exists (kubectl drain's
/// Eviction). Full protobuf decoding of every kind is not implemented.
struct ProtobufReader {
    enum Field {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed(UInt64)
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    /// The next (field number, value), nil at the end; malformed input is a 400.
    mutating func next() throws(BerthError) -> (Int, Field)? {
        guard !bytes.isEmpty else { return nil }
        let key = try varint()
        let number = Int(key >> 3)
        switch key & 7 {
        case 0: return (number, .varint(try varint()))
        case 1: return (number, .fixed(try fixed(8)))
        case 2:
            let length = Int(try varint())
            guard length >= 0, length <= bytes.count else { throw Self.malformed }
            let value = bytes.prefix(length)
            bytes = bytes.dropFirst(length)
            return (number, .bytes(value))
        case 5: return (number, .fixed(try fixed(4)))
        default: throw Self.malformed
        }
    }

    private mutating func varint() throws(BerthError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.first {
            bytes = bytes.dropFirst()
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { break }
        }
        throw Self.malformed
    }

    private mutating func fixed(_ count: Int) throws(BerthError) -> UInt64 {
        guard bytes.count >= count else { throw Self.malformed }
        var result: UInt64 = 0
        for (index, byte) in bytes.prefix(count).enumerated() { result |= UInt64(byte) << (8 * UInt64(index)) }
        bytes = bytes.dropFirst(count)
        return result
    }

    static let malformed = BerthError(.badRequest, "failed to decode the protobuf request body")

    /// The object inside Kubernetes' envelope: the `k8s\0` magic, then `runtime.Unknown` whose
    /// field 2 holds the encoded object.
    static func unwrapEnvelope(_ body: [UInt8]) throws(BerthError) -> ArraySlice<UInt8> {
        guard body.count >= 4, body[0] == 0x6b, body[1] == 0x38, body[2] == 0x73, body[3] == 0 else { throw malformed }
        var reader = ProtobufReader(body[4...])
        while let (number, field) = try reader.next() {
            if number == 2, case .bytes(let raw) = field { return raw }
        }
        throw malformed
    }

    /// `policy/v1` Eviction → its JSON form (metadata.name and the delete options Berth honours).
    static func eviction(_ body: [UInt8]) throws(BerthError) -> JSONValue {
        var reader = ProtobufReader(try unwrapEnvelope(body))
        var result: JSONValue = ["apiVersion": "policy/v1", "kind": "Eviction"]
        while let (number, field) = try reader.next() {
            switch (number, field) {
            case (1, .bytes(let meta)):
                var metaReader = ProtobufReader(meta)
                while let (metaNumber, metaField) = try metaReader.next() {
                    if metaNumber == 1, case .bytes(let name) = metaField { result["metadata"] = ["name": .string(String(decoding: name, as: UTF8.self))] }
                }
            case (2, .bytes(let options)):
                var optionsReader = ProtobufReader(options)
                var deleteOptions: JSONValue = [:]
                while let (optionNumber, optionField) = try optionsReader.next() {
                    switch (optionNumber, optionField) {
                    case (1, .varint(let grace)): deleteOptions["gracePeriodSeconds"] = .number(String(Int64(bitPattern: grace)))
                    case (3, .varint(let orphan)): deleteOptions["orphanDependents"] = .bool(orphan != 0)
                    case (4, .bytes(let policy)): deleteOptions["propagationPolicy"] = .string(String(decoding: policy, as: UTF8.self))
                    case (5, .bytes(let dryRun)): deleteOptions["dryRun"] = [.string(String(decoding: dryRun, as: UTF8.self))]
                    default: continue
                    }
                }
                result["deleteOptions"] = deleteOptions
            default: continue
            }
        }
        return result
    }
}

extension APIServer {
    /// An Eviction body as JSON or, from typed clients such as kubectl drain, protobuf.
    func readEviction(_ request: Request) async throws(BerthError) -> JSONValue {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.hasPrefix("application/vnd.kubernetes.protobuf") else { return try await readJSON(request) }
        return try ProtobufReader.eviction(try await readBody(request))
    }
}
