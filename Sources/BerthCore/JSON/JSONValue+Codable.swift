import Foundation

/// Free-form fields inside typed resources (e.g. `FieldsV1`, raw extensions) are kept
/// as `JSONValue`, so it must encode and decode through `Codable`.
extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let integer = try? container.decode(Int64.self) {
            self = .number(String(integer))
        } else if let number = try? container.decode(Double.self) {
            self = .number(number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number))
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([JSONValue].self) {
            self = .array(items)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .number(let text):
            if let integer = Int64(text) { try container.encode(integer) } else { try container.encode(Double(text) ?? 0) }
        case .string(let text): try container.encode(text)
        case .array(let items): try container.encode(items)
        case .object(let fields): try container.encode(fields)
        }
    }
}

extension JSONValue {
    /// Converts a typed value to a `JSONValue` (through Foundation's encoder, then our parser).
    public init(encoding value: some Encodable) throws(BerthError) {
        do {
            self = try JSONValueEncoder().encode(value)
        } catch {
            throw BerthError(.internalError, "failed to encode object: \(error)")
        }
    }

    /// Decodes this value into a typed value.
    public func decode<T: Decodable>(_ type: T.Type) throws(BerthError) -> T {
        do {
            return try JSONValueDecoder().decode(type, from: self)
        } catch let error as DecodingError {
            throw BerthError.decoding(error, kind: String(describing: T.self))
        } catch {
            throw BerthError(.badRequest, "failed to decode \(T.self): \(error)")
        }
    }
}

/// Shared coders; Foundation's coders are thread-safe for concurrent use.
public enum JSONCoding {
    public static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()
    public static let decoder = JSONDecoder()

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws(BerthError) -> T {
        do {
            return try decoder.decode(type, from: data)
        } catch let error as DecodingError {
            throw BerthError.decoding(error, kind: String(describing: T.self))
        } catch {
            throw BerthError(.badRequest, "failed to decode \(T.self): \(error)")
        }
    }

    public static func encode(_ value: some Encodable) throws(BerthError) -> Data {
        do {
            return try encoder.encode(value)
        } catch {
            throw BerthError(.internalError, "failed to encode object: \(error)")
        }
    }
}
