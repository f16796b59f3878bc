/// A JSON document as a value. Numbers keep their source text so int64 values (and
/// Kubernetes' quantities written as numbers) survive a round trip exactly.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        get {
            if case .object(let fields) = self { return fields[key] }
            return nil
        }
        set {
            guard case .object(var fields) = self else { return }
            // Drop self's reference first so the dictionary is changed in place, not copied.
            self = .null
            fields[key] = newValue
            self = .object(fields)
        }
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var intValue: Int? {
        if case .number(let text) = self { return Int(text) ?? Double(text).flatMap { Int(exactly: $0) } }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Reads a dotted path such as `metadata.name`.
    public func value(at path: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for key in path { current = current?[key] }
        return current
    }

    /// Writes a value at a path, creating intermediate objects; `nil` removes the key.
    public mutating func set(_ newValue: JSONValue?, at path: [String]) {
        guard let first = path.first else {
            if let newValue { self = newValue }
            return
        }
        guard case .object(var fields) = self else { return }
        self = .null
        if path.count == 1 {
            fields[first] = newValue
        } else {
            var child = fields.removeValue(forKey: first) ?? .object([:])
            if case .object = child {} else { child = .object([:]) }
            child.set(newValue, at: Array(path.dropFirst()))
            fields[first] = child
        }
        self = .object(fields)
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }
}
