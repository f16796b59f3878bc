/// Encodes `Encodable` values straight into a `JSONValue` tree (the counterpart of
/// `JSONValueDecoder`). Optional fields that are nil are omitted, as with Foundation.
public struct JSONValueEncoder {
    public init() {}

    public func encode(_ value: some Encodable) throws -> JSONValue {
        if let json = value as? JSONValue { return json }
        let root = EncodingNode()
        try value.encode(to: ValueEncoder(node: root, path: .root))
        return root.resolved()
    }
}

/// A mutable tree under construction; containers hand out child nodes that fill in later.
/// Scalar members are stored as values, without a node of their own: most fields of an object
/// are strings and numbers, and a class instance per field was a third of the encoding time.
private final class EncodingNode {
    enum Member {
        case value(JSONValue)
        case node(EncodingNode)

        var resolved: JSONValue {
            switch self {
            case .value(let value): value
            case .node(let node): node.resolved()
            }
        }
    }

    enum Content {
        case empty
        case value(JSONValue)
        case object([String: Member])
        case array([Member])
    }

    var content: Content = .empty

    func resolved() -> JSONValue {
        switch content {
        case .empty: return .object([:])
        case .value(let value): return value
        case .object(let fields): return .object(fields.mapValues(\.resolved))
        case .array(let items): return .array(items.map(\.resolved))
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

    /// Edits the members in place: the enum's reference is let go first, so the dictionary
    /// grows in place instead of being copied for every field added.
    private func withFields<R>(_ body: (inout [String: Member]) -> R) -> R {
        makeObject()
        guard case .object(var fields) = content else { fatalError("unreachable: node is an object") }
        content = .empty
        defer { content = .object(fields) }
        return body(&fields)
    }

    private func withItems<R>(_ body: (inout [Member]) -> R) -> R {
        makeArray()
        guard case .array(var items) = content else { fatalError("unreachable: node is an array") }
        content = .empty
        defer { content = .array(items) }
        return body(&items)
    }

    func child(_ key: String) -> EncodingNode {
        withFields { fields in
            if case .node(let existing) = fields[key] { return existing }
            let node = EncodingNode()
            fields[key] = .node(node)
            return node
        }
    }

    func set(_ key: String, _ value: JSONValue) { withFields { $0[key] = .value(value) } }

    func append() -> EncodingNode {
        withItems { items in
            let node = EncodingNode()
            items.append(.node(node))
            return node
        }
    }

    func append(_ value: JSONValue) { withItems { $0.append(.value(value)) } }

    var count: Int {
        if case .array(let items) = content { return items.count }
        return 0
    }
}

private enum ScalarEncoding {
    /// Values with a direct JSON form; `nil` means "encode through `Encodable`". Told apart by
    /// metatype identity (a pointer compare), not `as` casts: every nested struct would pay
    /// fifteen dynamic casts before falling through.
    static func json<T: Encodable>(_ value: T) -> JSONValue? {
        if T.self == String.self { return .string(unsafeBitCast(value, to: String.self)) }
        if T.self == Bool.self { return .bool(unsafeBitCast(value, to: Bool.self)) }
        if T.self == JSONValue.self { return unsafeBitCast(value, to: JSONValue.self) }
        if T.self == Int.self { return .number(String(unsafeBitCast(value, to: Int.self))) }
        if T.self == Int32.self { return .number(String(unsafeBitCast(value, to: Int32.self))) }
        if T.self == Int64.self { return .number(String(unsafeBitCast(value, to: Int64.self))) }
        if T.self == Double.self { return double(unsafeBitCast(value, to: Double.self)) }
        if T.self == Int16.self { return .number(String(unsafeBitCast(value, to: Int16.self))) }
        if T.self == Int8.self { return .number(String(unsafeBitCast(value, to: Int8.self))) }
        if T.self == UInt.self { return .number(String(unsafeBitCast(value, to: UInt.self))) }
        if T.self == UInt32.self { return .number(String(unsafeBitCast(value, to: UInt32.self))) }
        if T.self == UInt64.self { return .number(String(unsafeBitCast(value, to: UInt64.self))) }
        if T.self == UInt16.self { return .number(String(unsafeBitCast(value, to: UInt16.self))) }
        if T.self == UInt8.self { return .number(String(unsafeBitCast(value, to: UInt8.self))) }
        if T.self == Float.self { return double(Double(unsafeBitCast(value, to: Float.self))) }
        // Labels, annotations, commands and resource lists: no node per element.
        if T.self == [String: String].self { return .object(unsafeBitCast(value, to: [String: String].self).mapValues { .string($0) }) }
        if T.self == [String].self { return .array(unsafeBitCast(value, to: [String].self).map { .string($0) }) }
        if T.self == [String: Quantity].self { return .object(unsafeBitCast(value, to: [String: Quantity].self).mapValues { .string($0.description) }) }
        if T.self == [String: JSONValue].self { return .object(unsafeBitCast(value, to: [String: JSONValue].self)) }
        return nil
    }

    static func double(_ number: Double) -> JSONValue {
        guard number.isFinite else { return .null }
        if number.rounded() == number, abs(number) < 1e15 { return .number(String(Int64(number))) }
        return .number(String(number))
    }

    static func encode<T: Encodable>(_ value: T, into node: EncodingNode, parent: LazyCodingPath, key: (any CodingKey)?) throws {
        if let json = json(value) {
            node.content = .value(json)
        } else {
            try value.encode(to: ValueEncoder(node: node, path: key.map { parent.appending($0) } ?? parent))
        }
    }
}

private struct ValueEncoder: Encoder {
    let node: EncodingNode
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.makeObject()
        return KeyedEncodingContainer(KeyedContainer<Key>(node: node, path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.makeArray()
        return UnkeyedContainer(node: node, path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(node: node, path: path) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }

    mutating func encodeNil(forKey key: Key) throws { node.set(key.stringValue, .null) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        if let json = ScalarEncoding.json(value) { return node.set(key.stringValue, json) }
        try value.encode(to: ValueEncoder(node: node.child(key.stringValue), path: path.appending(key)))
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
    // The standard library's default goes through `encode` with generic metadata per call.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        guard let value else { return }
        try encode(value, forKey: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = node.child(key.stringValue)
        child.makeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, path: path.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.child(key.stringValue)
        child.makeArray()
        return UnkeyedContainer(node: child, path: path.appending(key))
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.child("super"), path: path) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { ValueEncoder(node: node.child(key.stringValue), path: path.appending(key)) }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }

    var count: Int { node.count }

    mutating func encodeNil() throws { node.append(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        if let json = ScalarEncoding.json(value) { return node.append(json) }
        let key = AnyCodingKey(intValue: count)
        try value.encode(to: ValueEncoder(node: node.append(), path: path.appending(key)))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.append()
        child.makeObject()
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, path: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.append()
        child.makeArray()
        return UnkeyedContainer(node: child, path: path)
    }

    mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.append(), path: path) }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let path: LazyCodingPath
    var codingPath: [any CodingKey] { path.keys }

    mutating func encodeNil() throws { node.content = .value(.null) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try ScalarEncoding.encode(value, into: node, parent: path, key: nil)
    }
}
