/// Decodes `Decodable` types straight from a `JSONValue` tree: no bytes in between, so
/// admission does not serialize and re-parse each object (Foundation's decoder does).
public struct JSONValueDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        if T.self == JSONValue.self { return value as! T }
        return try T(from: ValueDecoder(value: value, path: .root))
    }
}


private struct ValueDecoder: Decoder {
    let value: JSONValue
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func mismatch(_ type: Any.Type, _ description: String) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: description))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw mismatch([String: JSONValue].self, "expected an object") }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, path: path))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([JSONValue].self, "expected an array") }
        return UnkeyedContainer(items: items, path: path)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(value: value, path: path) }
}

/// Scalar conversions shared by all three container kinds. Types are told apart by metatype
/// identity (a pointer compare) rather than `is` casts: a nested struct would otherwise pay
/// fifteen dynamic casts before reaching the default branch. `key` is the field being decoded
/// under `parent`; the path is built only for an error or a nested decoder.
private enum Scalars {
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, _ parent: LazyCodingPath, _ key: (any CodingKey)?) throws -> T {
        func path() -> LazyCodingPath { key.map { parent.appending($0) } ?? parent }
        func mismatch(_ what: String) -> DecodingError {
            .typeMismatch(T.self, .init(codingPath: path().keys, debugDescription: "expected \(what)"))
        }
        if T.self == String.self {
            guard case .string(let text) = value else { throw mismatch("a string") }
            return unsafeBitCast(text, to: T.self)
        }
        if T.self == Bool.self {
            guard case .bool(let flag) = value else { throw mismatch("a boolean") }
            return unsafeBitCast(flag, to: T.self)
        }
        if T.self == JSONValue.self { return unsafeBitCast(value, to: T.self) }
        if T.self == Int.self { return unsafeBitCast(try integer(Int.self, value, mismatch), to: T.self) }
        if T.self == Int32.self { return unsafeBitCast(try integer(Int32.self, value, mismatch), to: T.self) }
        if T.self == Int64.self { return unsafeBitCast(try integer(Int64.self, value, mismatch), to: T.self) }
        if T.self == Double.self {
            guard case .number(let text) = value, let number = Double(text) else { throw mismatch("a number") }
            return unsafeBitCast(number, to: T.self)
        }
        if T.self == Int16.self { return unsafeBitCast(try integer(Int16.self, value, mismatch), to: T.self) }
        if T.self == Int8.self { return unsafeBitCast(try integer(Int8.self, value, mismatch), to: T.self) }
        if T.self == UInt.self { return unsafeBitCast(try integer(UInt.self, value, mismatch), to: T.self) }
        if T.self == UInt32.self { return unsafeBitCast(try integer(UInt32.self, value, mismatch), to: T.self) }
        if T.self == UInt64.self { return unsafeBitCast(try integer(UInt64.self, value, mismatch), to: T.self) }
        if T.self == UInt16.self { return unsafeBitCast(try integer(UInt16.self, value, mismatch), to: T.self) }
        if T.self == UInt8.self { return unsafeBitCast(try integer(UInt8.self, value, mismatch), to: T.self) }
        if T.self == Float.self {
            guard case .number(let text) = value, let number = Float(text) else { throw mismatch("a number") }
            return unsafeBitCast(number, to: T.self)
        }
        // Labels, annotations, commands and resource lists, without the standard library's
        // generic Dictionary/Array decoding (a coding key and a metadata lookup per element).
        // Anything unusual in them falls through to the general path, which words the error.
        if T.self == [String: String].self, let map = stringMap(value) { return unsafeBitCast(map, to: T.self) }
        if T.self == [String].self, let list = stringList(value) { return unsafeBitCast(list, to: T.self) }
        if T.self == [String: Quantity].self, let map = quantityMap(value) { return unsafeBitCast(map, to: T.self) }
        if T.self == [String: JSONValue].self, case .object(let fields) = value { return unsafeBitCast(fields, to: T.self) }
        return try T(from: ValueDecoder(value: value, path: path()))
    }

    static func stringMap(_ value: JSONValue) -> [String: String]? {
        guard case .object(let fields) = value else { return nil }
        var map: [String: String] = [:]
        map.reserveCapacity(fields.count)
        for (key, field) in fields {
            guard case .string(let text) = field else { return nil }
            map[key] = text
        }
        return map
    }

    static func stringList(_ value: JSONValue) -> [String]? {
        guard case .array(let items) = value else { return nil }
        var list: [String] = []
        list.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item else { return nil }
            list.append(text)
        }
        return list
    }

    static func quantityMap(_ value: JSONValue) -> [String: Quantity]? {
        guard case .object(let fields) = value else { return nil }
        var map: [String: Quantity] = [:]
        map.reserveCapacity(fields.count)
        for (key, field) in fields {
            switch field {
            case .string(let text), .number(let text):
                guard let quantity = Quantity.parse(text) else { return nil }
                map[key] = quantity
            default:
                return nil
            }
        }
        return map
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
    let path: LazyCodingPath
    /// A one-word summary of the keys present (`KeySignature`). A synthesized `init(from:)`
    /// asks for every field its type has — 40 for a PodSpec — and most are absent; a key whose
    /// bit is clear is known absent without hashing it.
    let present: UInt64
    var codingPath: [any CodingKey] { path.keys }

    init(fields: [String: JSONValue], path: LazyCodingPath) {
        self.fields = fields
        self.path = path
        var present: UInt64 = 0
        for key in fields.keys { present |= KeySignature.bit(key) }
        self.present = present
    }

    /// The field's value, nil when absent.
    @inline(__always)
    func find(_ key: Key) -> JSONValue? {
        let name = key.stringValue
        guard present & KeySignature.bit(name) != 0 else { return nil }
        return fields[name]
    }

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func value(_ key: Key) throws -> JSONValue {
        guard let value = find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "required field missing"))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { find(key)?.isNull ?? true }

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
        guard let found = find(key) else { return nil }
        if case .string(let text) = found { return text }
        return try decodeIfPresentGeneric(type, forKey: key)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let found = find(key) else { return nil }
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
        guard let found = find(key) else { return nil }
        if case .number(let text) = found, let number = I(text) { return number }
        return try decodeIfPresentGeneric(type, forKey: key)
    }

    /// The general path, which also words every error (null, wrong type) with its coding path.
    private func decodeGeneric<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let found = try value(key)
        if found.isNull, T.self != JSONValue.self {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: path.appending(key).keys, debugDescription: "expected a value, got null"))
        }
        return try Scalars.decode(type, found, path, key)
    }

    private func decodeIfPresentGeneric<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let found = find(key), !found.isNull else { return nil }
        return try Scalars.decode(type, found, path, key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: value(key), path: path.appending(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: value(key), path: path.appending(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { ValueDecoder(value: .object(fields), path: path) }
    func superDecoder(forKey key: Key) throws -> any Decoder { ValueDecoder(value: try value(key), path: path.appending(key)) }
}

/// One of 64 bits per key, from its length and first and last bytes: cheap to take from a
/// Swift string (no hashing, no walk over the bytes) and different for nearly all field names
/// of one type.
enum KeySignature {
    @inline(__always)
    static func bit(_ key: String) -> UInt64 {
        var key = key
        return key.withUTF8 { bytes -> UInt64 in
            guard let first = bytes.first, let last = bytes.last else { return 1 }
            let mixed = UInt64(bytes.count) &* 0x9E37_79B9 &+ UInt64(first) &* 31 &+ UInt64(last)
            return 1 << ((mixed ^ (mixed >> 7)) & 63)
        }
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let path: LazyCodingPath
    var currentIndex = 0

    init(items: [JSONValue], path: LazyCodingPath) {
        self.items = items
        self.path = path
    }

    var codingPath: [any CodingKey] { path.keys }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    /// The next element and its index key.
    mutating func next() throws -> (JSONValue, AnyCodingKey) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: codingPath, debugDescription: "unkeyed container is at end"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], AnyCodingKey(intValue: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        if !isAtEnd, items[currentIndex].isNull {
            currentIndex += 1
            return true
        }
        return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, key) = try next()
        if value.isNull, T.self != JSONValue.self {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: path.appending(key).keys, debugDescription: "expected a value, got null"))
        }
        return try Scalars.decode(type, value, path, key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, key) = try next()
        return try ValueDecoder(value: value, path: path.appending(key)).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, key) = try next()
        return try ValueDecoder(value: value, path: path.appending(key)).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, key) = try next()
        return ValueDecoder(value: value, path: path.appending(key))
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }

    func decodeNil() -> Bool { value.isNull }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if value.isNull, T.self != JSONValue.self {
            throw DecodingError.valueNotFound(T.self, .init(codingPath: codingPath, debugDescription: "expected a value, got null"))
        }
        return try Scalars.decode(type, value, path, nil)
    }
}
