/// OpenAPI v3 schemas read off `Decodable` types. The type's own `init(from:)` runs against a
/// decoder that answers every question with a placeholder and writes down what was asked:
/// which keys, which of them optional, which value types. Admission keeps exactly the fields
/// a kind's decoder reads (everything else is reported as unknown), so a schema made this way
/// cannot drift from what the server accepts — there is no second, hand-kept list of fields.
public final class SchemaProbe {
    /// Named object schemas, `components.schemas` of an OpenAPI document.
    public internal(set) var components: [String: JSONValue] = [:]
    /// Types whose decoder threw on the placeholders: their schemas stop at the field that threw.
    public private(set) var incomplete: Set<String> = []

    let namePrefix: String
    let describe: @Sendable (_ type: String, _ field: String?) -> String?
    private var names: [ObjectIdentifier: String] = [:]
    private var takenNames: Set<String> = []
    private var witnesses: [ObjectIdentifier: Any] = [:]
    private var inProgress: Set<ObjectIdentifier> = []

    /// - Parameters:
    ///   - namePrefix: prefix of component names (`io.k8s.api.apps.v1`); the type name follows.
    ///   - describe: the description of a type (`field` nil) or of one of its fields.
    public init(namePrefix: String, describe: @escaping @Sendable (_ type: String, _ field: String?) -> String? = { _, _ in nil }) {
        self.namePrefix = namePrefix
        self.describe = describe
    }

    /// The schema of `type`: a `$ref` for struct types (their schema lands in `components`),
    /// inline for primitives, arrays and maps.
    public func schema<T: Decodable>(of type: T.Type) -> JSONValue {
        let node = SchemaNode()
        _ = try? value(T.self, into: node)
        return node.rendered(self, description: nil)
    }

    /// The component name `type` got, once probed.
    public func componentName<T>(of type: T.Type) -> String? { names[ObjectIdentifier(T.self)] }

    /// Adds an extension (`x-kubernetes-group-version-kind`) to a component already probed.
    public func annotate(component name: String, _ key: String, _ value: JSONValue) {
        guard case .object(var fields) = components[name] else { return }
        fields[key] = value
        components[name] = .object(fields)
    }

    /// Drops a field from a component's `required` list: a kind's `metadata` is a required
    /// Swift property, but clients may leave it out of a schema-driven form (the server
    /// then asks for a name).
    public func makeOptional(component name: String, _ field: String) {
        guard case .object(var fields) = components[name], case .array(let required) = fields["required"] else { return }
        let kept = required.filter { $0 != .string(field) }
        if kept.isEmpty { fields.removeValue(forKey: "required") } else { fields["required"] = .array(kept) }
        components[name] = .object(fields)
    }

    // MARK: - Probing

    func value<T: Decodable>(_ type: T.Type, into node: SchemaNode) throws -> T {
        if let leaf = leafValue(T.self, node) { return leaf }
        let id = ObjectIdentifier(T.self)
        if let name = names[id] {
            node.shape = .reference(name)
            if let witness = witnesses[id] as? T { return witness }
            throw ProbeStop()
        }
        if inProgress.contains(id) {
            // A type that contains itself: only structs can, so it will be a component.
            node.shape = .reference(reserveName(for: T.self))
            throw ProbeStop()
        }
        inProgress.insert(id)
        defer { inProgress.remove(id) }
        let decoder = ProbeDecoder(probe: self, node: node)
        do {
            let decoded = try T(from: decoder)
            witnesses[id] = decoded
            finish(T.self, node, complete: true)
            return decoded
        } catch {
            finish(T.self, node, complete: false)
            throw error
        }
    }

    /// A struct's keyed fields become a named component; arrays, maps and wrappers stay inline.
    private func finish<T>(_ type: T.Type, _ node: SchemaNode, complete: Bool) {
        guard case .object = node.shape, !node.isMap else { return }
        let name = reserveName(for: T.self)
        if !complete { incomplete.insert(name) }
        let typeName = Self.typeName(T.self)
        components[name] = node.rendered(self, description: describe(typeName, nil), typeName: typeName)
        node.shape = .reference(name)
    }

    private func reserveName<T>(for type: T.Type) -> String {
        let id = ObjectIdentifier(T.self)
        if let name = names[id] { return name }
        var name = "\(namePrefix).\(Self.typeName(T.self))"
        var suffix = 2
        while takenNames.contains(name) {
            name = "\(namePrefix).\(Self.typeName(T.self))\(suffix)"
            suffix += 1
        }
        names[id] = name
        takenNames.insert(name)
        return name
    }

    /// `PodSpec`, `PodDisruptionBudgetStatus` — the last component of the Swift name.
    static func typeName<T>(_ type: T.Type) -> String {
        let full = String(describing: T.self)
        return full.split(separator: ".").last.map(String.init) ?? full
    }

    /// Types with a wire form of their own (not the shape their decoder reads).
    private func leafValue<T>(_ type: T.Type, _ node: SchemaNode) -> T? {
        switch T.self {
        case is String.Type: node.shape = .primitive("string", nil); return "" as? T
        case is Bool.Type: node.shape = .primitive("boolean", nil); return false as? T
        case is Int.Type: node.shape = .primitive("integer", "int64"); return 0 as? T
        case is Int64.Type: node.shape = .primitive("integer", "int64"); return Int64(0) as? T
        case is Int32.Type: node.shape = .primitive("integer", "int32"); return Int32(0) as? T
        case is Int8.Type: node.shape = .primitive("integer", "int32"); return Int8(0) as? T
        case is Int16.Type: node.shape = .primitive("integer", "int32"); return Int16(0) as? T
        case is UInt8.Type: node.shape = .primitive("integer", "int32"); return UInt8(0) as? T
        case is UInt16.Type: node.shape = .primitive("integer", "int32"); return UInt16(0) as? T
        case is UInt.Type: node.shape = .primitive("integer", "int64"); return UInt(0) as? T
        case is Float.Type: node.shape = .primitive("number", "float"); return Float(0) as? T
        case is UInt32.Type: node.shape = .primitive("integer", "int64"); return UInt32(0) as? T
        case is UInt64.Type: node.shape = .primitive("integer", "int64"); return UInt64(0) as? T
        case is Double.Type: node.shape = .primitive("number", "double"); return 0.0 as? T
        case is JSONValue.Type: node.shape = .freeForm; return JSONValue.null as? T
        case is IntOrString.Type:
            node.shape = .reference(leafComponent("io.k8s.apimachinery.pkg.util.intstr.IntOrString", "IntOrString"))
            return IntOrString.int(0) as? T
        case is Quantity.Type:
            node.shape = .reference(leafComponent("io.k8s.apimachinery.pkg.api.resource.Quantity", "Quantity"))
            return Quantity(integer: 0) as? T
        default: return nil
        }
    }
}

extension SchemaProbe {
    /// A number or a string (`IntOrString`, `Quantity`), named as in Kubernetes' documents so
    /// kubectl prints `<Quantity>` and `<IntOrString>` rather than a bare type.
    func leafComponent(_ name: String, _ typeName: String) -> String {
        var schema: [String: JSONValue] = ["anyOf": [["type": "integer"], ["type": "string"]], "x-kubernetes-int-or-string": true]
        if let description = describe(typeName, nil) { schema["description"] = .string(description) }
        components[name] = .object(schema)
        return name
    }
}

/// Thrown when a placeholder value cannot be made (a type met again inside itself).
struct ProbeStop: Error {}

/// What one position in a type reads as, filled in while its decoder runs.
final class SchemaNode {
    enum Shape {
        case unknown
        case primitive(String, String?)
        case reference(String)
        case object
        case array(SchemaNode)
        case freeForm
    }

    struct Property {
        let name: String
        let node: SchemaNode
        var required: Bool
    }

    var shape: Shape = .unknown
    var properties: [Property] = []
    /// A keyed container whose keys were listed (`allKeys`): a dictionary, not a struct.
    var isMap = false
    var mapValue: SchemaNode?

    func property(_ name: String, required: Bool) -> SchemaNode {
        if let index = properties.firstIndex(where: { $0.name == name }) {
            if required { properties[index].required = true }
            return properties[index].node
        }
        let node = SchemaNode()
        properties.append(Property(name: name, node: node, required: required))
        return node
    }

    func rendered(_ probe: SchemaProbe, description: String?, typeName: String? = nil) -> JSONValue {
        var schema: [String: JSONValue] = [:]
        switch shape {
        case .unknown:
            schema["x-kubernetes-preserve-unknown-fields"] = true
        case .primitive(let type, let format):
            schema["type"] = .string(type)
            if let format { schema["format"] = .string(format) }
        case .reference(let name):
            let reference: JSONValue = ["$ref": .string("#/components/schemas/\(name)")]
            guard let description else { return reference }
            schema["allOf"] = [reference]
        case .object where isMap:
            schema["type"] = "object"
            schema["additionalProperties"] = (mapValue ?? SchemaNode()).rendered(probe, description: nil)
        case .object:
            schema["type"] = "object"
            var fields: [String: JSONValue] = [:]
            for property in properties {
                fields[property.name] = property.node.rendered(probe, description: typeName.flatMap { probe.describe($0, property.name) })
            }
            schema["properties"] = .object(fields)
            let required = properties.filter(\.required).map { JSONValue.string($0.name) }
            if !required.isEmpty { schema["required"] = .array(required) }
        case .array(let items):
            schema["type"] = "array"
            schema["items"] = items.rendered(probe, description: nil)
        case .freeForm:
            schema["type"] = "object"
            schema["x-kubernetes-preserve-unknown-fields"] = true
        }
        if let description { schema["description"] = .string(description) }
        return .object(schema)
    }
}
