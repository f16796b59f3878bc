/// Decodes `Decodable` types straight from a `JSONValue` tree: no bytes in between, so
/// admission does not serialize and re-parse each object (Foundation's decoder does).
public struct JSONValueDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        return try T(from: ValueDecoder(value: value, codingPath: []))
    }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ type: Any.Type, _ description: String) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: description))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw mismatch([String: JSONValue].self, "expected an object") }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([JSONValue].self, "expected an array") }
        return UnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(value: value, codingPath: codingPath) }
}

/// Scalar conversions shared by all three container kinds.
private enum Scalars {
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        func mismatch(_ what: String) -> DecodingError {
            .typeMismatch(T.self, .init(codingPath: path, debugDescription: "expected \(what)"))
        }
        switch type {
        case is String.Type:
            guard case .string(let text) = value else { throw mismatch("a string") }
            return text as! T
        case is Bool.Type:
            guard case .bool(let flag) = value else { throw mismatch("a boolean") }
            return flag as! T
        case is JSONValue.Type:
            return value as! T
        case is Int.Type: return try integer(Int.self, value, mismatch) as! T
        case is Int32.Type: return try integer(Int32.self, value, mismatch) as! T
        case is Int64.Type: return try integer(Int64.self, value, mismatch) as! T
        case is Int16.Type: return try integer(Int16.self, value, mismatch) as! T
        case is Int8.Type: return try integer(Int8.self, value, mismatch) as! T
        case is UInt.Type: return try integer(UInt.self, value, mismatch) as! T
        case is UInt32.Type: return try integer(UInt32.self, value, mismatch) as! T
        case is UInt64.Type: return try integer(UInt64.self, value, mismatch) as! T
        case is UInt16.Type: return try integer(UInt16.self, value, mismatch) as! T
        case is UInt8.Type: return try integer(UInt8.self, value, mismatch) as! T
        case is Double.Type:
            guard case .number(let text) = value, let number = Double(text) else { throw mismatch("a number") }
            return number as! T
        case is Float.Type:
            guard case .number(let text) = value, let number = Float(text) else { throw mismatch("a number") }
            return number as! T
        default:
            return try T(from: ValueDecoder(value: value, codingPath: path))
        }
    }

    static func integer<I: FixedWidthInteger>(_ type: I.Type, _ value: JSONValue, _ mismatch: (String) -> DecodingError) throws -> I {
        guard case .number(let text) = value else { throw mismatch("an integer") }
        if let number = I(text) { return number }
        // 3.0 and 1e3 are integers too, as in Go's decoder for whole values.
        if let number = Double(text), number.rounded() == number, let exact = I(exactly: number) { return exact }
        throw mismatch("an integer")
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    func value(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "required field missing"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { fields[key.stringValue]?.isNull ?? true }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try decodeGeneric(type, forKey: key) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try decodeIfPresentGeneric(type, forKey: key) }

    // Concrete overloads for the common scalars: without them every field goes through the
    // generic path (a metatype switch with dynamic casts and a coding-path array per field),
    // which was most of the cost of admitting and of decoding watched objects.

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        if case .string(let text) = try value(key) { return text }
        return try decodeGeneric(type, forKey: key)
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        if case .bool(let flag) = try value(key) { return flag }
        return try decodeGeneric(type, forKey: key)
    }

    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeInteger(type, forKey: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeInteger(type, forKey: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeInteger(type, forKey: key) }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let found = fields[key.stringValue] else { return nil }
        if case .string(let text) = found { return text }
        return try decodeIfPresentGeneric(type, forKey: key)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let found = fields[key.stringValue] else { return nil }
        if case .bool(let flag) = found { return flag }
        return try decodeIfPresentGeneric(type, forKey: key)
    }

    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try decodeIntegerIfPresent(type, forKey: key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try decodeIntegerIfPresent(type, forKey: key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try decodeIntegerIfPresent(type, forKey: key) }

    private func decodeInteger<I: FixedWidthInteger & Decodable>(_ type: I.Type, forKey key: Key) throws -> I {
        if case .number(let text) = try value(key), let number = I(text) { return number }
        return try decodeGeneric(type, forKey: key)
    }

    private func decodeIntegerIfPresent<I: FixedWidthInteger & Decodable>(_ type: I.Type, forKey key: Key) throws -> I? {
        guard let found = fields[key.stringValue] else { return nil }
        if case .number(let text) = found, let number = I(text) { return number }
        return try decodeIfPresentGeneric(type, forKey: key)
    }

    /// The general path, which also words every error (null, wrong type) with its coding path.
    private func decodeGeneric<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let found = try value(key)
        if found.isNull, T.self != JSONValue.self {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath + [key], debugDescription: "expected a value, got null"))
        }
        return try Scalars.decode(type, found, codingPath + [key])
    }

    private func decodeIfPresentGeneric<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let found = fields[key.stringValue], !found.isNull else { return nil }
        return try Scalars.decode(type, found, codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { ValueDecoder(value: .object(fields), codingPath: codingPath) }
    func superDecoder(forKey key: Key) throws -> any Decoder { ValueDecoder(value: try value(key), codingPath: codingPath + [key]) }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    mutating func next() throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: codingPath, debugDescription: "unkeyed container is at end"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [AnyCodingKey(intValue: currentIndex)])
    }

    mutating func decodeNil() throws -> Bool {
        if !isAtEnd, items[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next()
        if value.isNull, T.self != JSONValue.self {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: path, debugDescription: "expected a value, got null"))
        }
        return try Scalars.decode(type, value, path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next()
        return try ValueDecoder(value: value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next()
        return ValueDecoder(value: value, codingPath: path)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value.isNull }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if value.isNull, T.self != JSONValue.self {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "expected a value, got null"))
        }
        return try Scalars.decode(type, value, codingPath)
    }
}
