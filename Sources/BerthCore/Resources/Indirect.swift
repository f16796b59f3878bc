/// An optional field kept behind a reference. Swift stores an optional struct inline at its
/// full size even when it is nil, so a `Container` with three probes and a security context
/// carried about 800 bytes of absent fields; informer caches hold tens of thousands of pods,
/// and every decode and copy moved those bytes. Boxed, an absent field costs one pointer.
/// The wrapper is invisible on the wire: a missing key decodes as nil and nil is not written.
@propertyWrapper
public struct Indirect<Value: Codable & Sendable & Hashable>: Sendable, Hashable {
    final class Box: Sendable {
        let value: Value
        init(_ value: Value) { self.value = value }
    }

    private var box: Box?

    public init() { box = nil }
    public init(wrappedValue: Value?) { box = wrappedValue.map(Box.init) }

    public var wrappedValue: Value? {
        get { box?.value }
        set { box = newValue.map(Box.init) }
    }

    public static func == (lhs: Indirect, rhs: Indirect) -> Bool { lhs.wrappedValue == rhs.wrappedValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(wrappedValue) }
}

extension Indirect: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.init(wrappedValue: container.decodeNil() ? nil : try container.decode(Value.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value = wrappedValue { try container.encode(value) } else { try container.encodeNil() }
    }
}

// Synthesized `Codable` asks for the wrapper by key; these overloads make an absent key nil
// (instead of "key not found") and leave nil fields out, exactly as a plain optional does.
extension KeyedDecodingContainer {
    public func decode<Value>(_ type: Indirect<Value>.Type, forKey key: Key) throws -> Indirect<Value> {
        Indirect(wrappedValue: try decodeIfPresent(Value.self, forKey: key))
    }
}

extension KeyedEncodingContainer {
    public mutating func encode<Value>(_ value: Indirect<Value>, forKey key: Key) throws {
        try encodeIfPresent(value.wrappedValue, forKey: key)
    }
}
