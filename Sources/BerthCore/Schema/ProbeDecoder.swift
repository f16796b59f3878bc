/// The decoder `SchemaProbe` runs types against: every key is present and holds a placeholder,
/// every question is recorded in the node being decoded.
struct ProbeDecoder: Decoder {
    let probe: SchemaProbe
    let node: SchemaNode
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        if case .unknown = node.shape { node.shape = .object }
        return KeyedDecodingContainer(ProbeKeyedContainer<Key>(probe: probe, node: node))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let items: SchemaNode
        if case .array(let existing) = node.shape { items = existing } else {
            items = SchemaNode()
            node.shape = .array(items)
        }
        return ProbeUnkeyedContainer(probe: probe, items: items)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        ProbeSingleValueContainer(probe: probe, node: node)
    }
}

struct ProbeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let probe: SchemaProbe
    let node: SchemaNode
    var codingPath: [any CodingKey] { [] }

    /// Only dictionaries list their keys; one placeholder key stands for all of them.
    var allKeys: [Key] {
        node.isMap = true
        return [Key(stringValue: "key")].compactMap { $0 }
    }

    func contains(_ key: Key) -> Bool { true }
    func decodeNil(forKey key: Key) throws -> Bool { false }

    private func child(_ key: Key, required: Bool) -> SchemaNode {
        if node.isMap {
            if let value = node.mapValue { return value }
            let value = SchemaNode()
            node.mapValue = value
            return value
        }
        return node.property(key.stringValue, required: required)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try probe.value(T.self, into: child(key, required: true))
    }

    /// An optional field whose placeholder the type refuses (an enum with raw values) is
    /// simply absent: its shape was recorded before the refusal.
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try? probe.value(T.self, into: child(key, required: false))
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type, generic: key) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type, generic: key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type, generic: key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decode(type, generic: key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decode(type, generic: key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type, generic: key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try decode(type, generic: key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decode(type, generic: key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decode(type, generic: key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decode(type, generic: key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decode(type, generic: key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decode(type, generic: key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decode(type, generic: key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decode(type, generic: key) }

    // The primitive overloads' default implementations go through `decode`, which would
    // mark every optional primitive required.
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try? probe.value(type, into: child(key, required: false)) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try? probe.value(type, into: child(key, required: false)) }

    private func decode<T: Decodable>(_ type: T.Type, generic key: Key) throws -> T {
        try probe.value(T.self, into: child(key, required: true))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ProbeDecoder(probe: probe, node: child(key, required: true)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ProbeDecoder(probe: probe, node: child(key, required: true)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { ProbeDecoder(probe: probe, node: node) }
    func superDecoder(forKey key: Key) throws -> any Decoder { ProbeDecoder(probe: probe, node: child(key, required: true)) }
}

/// An array of one placeholder element.
struct ProbeUnkeyedContainer: UnkeyedDecodingContainer {
    let probe: SchemaProbe
    let items: SchemaNode
    var codingPath: [any CodingKey] { [] }
    var count: Int? { 1 }
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex >= 1 }

    init(probe: SchemaProbe, items: SchemaNode) {
        self.probe = probe
        self.items = items
    }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        return try probe.value(T.self, into: items)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        currentIndex += 1
        return try ProbeDecoder(probe: probe, node: items).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        currentIndex += 1
        return try ProbeDecoder(probe: probe, node: items).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { ProbeDecoder(probe: probe, node: items) }
}

/// One value: wrappers (`Optional`, property wrappers) pass straight through to what they hold.
struct ProbeSingleValueContainer: SingleValueDecodingContainer {
    let probe: SchemaProbe
    let node: SchemaNode
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try probe.value(T.self, into: node) }
    func decode(_ type: String.Type) throws -> String { try probe.value(type, into: node) }
    func decode(_ type: Bool.Type) throws -> Bool { try probe.value(type, into: node) }
    func decode(_ type: Int.Type) throws -> Int { try probe.value(type, into: node) }
    func decode(_ type: Int32.Type) throws -> Int32 { try probe.value(type, into: node) }
    func decode(_ type: Int64.Type) throws -> Int64 { try probe.value(type, into: node) }
    func decode(_ type: Double.Type) throws -> Double { try probe.value(type, into: node) }
}
