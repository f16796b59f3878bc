/// Serializes `JSONValue` compactly and deterministically. Objects write `apiVersion`,
/// `kind` and `metadata` first and the other keys sorted, so stored objects start with a
/// known prefix (the API server splices `resourceVersion` in after `"metadata":{`).
public enum JSONWriter {
    static let leadingKeys = ["apiVersion", "kind", "metadata"]

    public static func bytes(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(value, into: &out)
        return out
    }

    public static func string(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    public static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let text): out.append(contentsOf: text.utf8)
        case .string(let text): writeString(text, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (offset, item) in items.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            let members = OrderedMembers(fields)
            var first = true
            func member(_ key: String, _ value: JSONValue) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(value, into: &out)
            }
            if let value = members.apiVersion { member("apiVersion", value) }
            if let value = members.kind { member("kind", value) }
            if let value = members.metadata { member("metadata", value) }
            for (key, value) in members.rest { member(key, value) }
            out.append(UInt8(ascii: "}"))
        }
    }

    public static func orderedKeys(_ fields: [String: JSONValue]) -> [String] {
        let members = OrderedMembers(fields)
        var keys: [String] = []
        if members.apiVersion != nil { keys.append("apiVersion") }
        if members.kind != nil { keys.append("kind") }
        if members.metadata != nil { keys.append("metadata") }
        return keys + members.rest.map(\.key)
    }

    /// `apiVersion`, `kind`, `metadata`, then the other members by key — taken in one pass over
    /// the dictionary, with no lookup per key afterwards.
    struct OrderedMembers {
        var apiVersion: JSONValue?
        var kind: JSONValue?
        var metadata: JSONValue?
        var rest: [(key: String, value: JSONValue)] = []

        init(_ fields: [String: JSONValue]) {
            rest.reserveCapacity(fields.count)
            for member in fields {
                switch member.key {
                case "apiVersion": apiVersion = member.value
                case "kind": kind = member.value
                case "metadata": metadata = member.value
                default: rest.append(member)
                }
            }
            if rest.count > 1 { rest.sort { $0.key < $1.key } }
        }
    }

    public static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        // Most strings need no escaping: copied in one go from their UTF-8 storage.
        text.withUTF8 { bytes in
            if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                out.append(contentsOf: bytes)
                return
            }
            for byte in bytes { escape(byte, into: &out) }
        }
        out.append(UInt8(ascii: "\""))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    private static func escape(_ byte: UInt8, into out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out.append(0x5C); out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C); out.append(0x5C)
        case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
        case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
        case 0x00..<0x20:
            out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
        default: out.append(byte)
        }
    }
}
