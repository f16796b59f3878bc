/// Encodes `Encodable` values straight into a `JSONValue` tree (the counterpart of
/// `JSONValueDecoder`). Optional fields that are nil are omitted, as with Foundation.
public struct JSONValueEncoder {
    public init() {}

    public func encode(_ value: some Encodable) throws -> JSONValue {
        if let json = value as? JSONValue { return json }
        let root = EncodingNode()
        try value.encode(to: ValueEncoder(node: root, codingPath: []))
        return root.resolved()
    }
}

/// A mutable tree under construction; containers hand out child nodes that fill in later.
private final class EncodingNode {
    enum Content {
        case empty
        case value(JSONValue)
        case object([String: EncodingNode])
        case array([EncodingNode])
    }

    var content: Content = .empty

    func resolved() -> JSONValue {
        switch content {
        case .empty: return .object([:])
        case .value(let value): return value
        case .object(let fields): return .object(fields.mapValues { $0.resolved() })
        case .array(let items): return .array(items.map { $0.resolved() })
        }
    }

    func makeObject() {
        if case .object = content { return }
        content = .object([:])
    }

    func makeArray() {
        if case .array = content { return }
        content = .array([])
    }

    func child(_ key: String) -> EncodingNode {
        makeObject()
        guard case .object(var fields) = content else { fatalError("unreachable: node is an object") }
        if let existing = fields[key] { return existing }
        // Let go of the enum's reference first, so the dictionary grows in place instead of
        // being copied for every field added.
        content = .empty
        let node = EncodingNode()
        fields[key] = node
        content = .object(fields)
        return node
    }

    func set(_ key: String, _ value: JSONValue) { child(key).content = .value(value) }

    func append() -> EncodingNode {
        makeArray()
        guard case .array(var items) = content else { fatalError("unreachable: node is an array") }
        content = .empty
        let node = EncodingNode()
        items.append(node)
        content = .array(items)
        return node
    }

    var count: Int {
        if case .array(let items) = content { return items.count }
        return 0
    }
}

private enum ScalarEncoding {
    /// Values with a direct JSON form; `nil` means "encode through `Encodable`".
    static func json(_ value: some Encodable) -> JSONValue? {
        switch value {
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let json as JSONValue: return json
        case let number as Int: return .number(String(number))
        case let number as Int32: return .number(String(number))
        case let number as Int64: return .number(String(number))
        case let number as Int16: return .number(String(number))
        case let number as Int8: return .number(String(number))
        case let number as UInt: return .number(String(number))
        case let number as UInt32: return .number(String(number))
        case let number as UInt64: return .number(String(number))
        case let number as UInt16: return .number(String(number))
        case let number as UInt8: return .number(String(number))
        case let number as Double: return double(number)
        case let number as Float: return double(Double(number))
        default: return nil
        }
    }

    static func double(_ number: Double) -> JSONValue {
        guard number.isFinite else { return .null }
        if number.rounded() == number, abs(number) < 1e15 { return .number(String(Int64(number))) }
        return .number(String(number))
    }

    static func encode(_ value: some Encodable, into node: EncodingNode, path: [any CodingKey]) throws {
        if let json = json(value) {
            node.content = .value(json)
        } else {
            try value.encode(to: ValueEncoder(node: node, codingPath: path))
        }
    }
}

private struct ValueEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(node: node, codingPath: codingPath) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { node.set(key.stringValue, .null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try ScalarEncoding.encode(value, into: node.child(key.stringValue), path: codingPath + [key])
    }

    // The common scalars directly: no dynamic casts, no coding-path array per field.
    mutating func encode(_ value: String, forKey key: Key) throws { node.set(key.stringValue, .string(value)) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { node.set(key.stringValue, .bool(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { node.set(key.stringValue, .number(String(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { node.set(key.stringValue, .number(String(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { node.set(key.stringValue, .number(String(value))) }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { if let value { node.set(key.stringValue, .string(value)) } }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { if let value { node.set(key.stringValue, .bool(value)) } }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { if let value { node.set(key.stringValue, .number(String(value))) } }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { if let value { node.set(key.stringValue, .number(String(value))) } }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { if let value { node.set(key.stringValue, .number(String(value))) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.child(key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.child(key.stringValue)
        child.makeArray()
        return UnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.child("super"), codingPath: codingPath) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(node: node.child(key.stringValue), codingPath: codingPath + [key]) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    var count: Int { node.count }

    mutating func encodeNil() throws { node.append().content = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let path = codingPath + [AnyCodingKey(intValue: count)]
        try ScalarEncoding.encode(value, into: node.append(), path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.append()
        child.makeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.append()
        child.makeArray()
        return UnkeyedContainer(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.append(), codingPath: codingPath) }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try ScalarEncoding.encode(value, into: node, path: codingPath)
    }
}
