import Foundation

/// The result of admitting a written object: its normalized, defaulted form plus what was wrong.
public struct AdmittedObject: Sendable {
    public var object: JSONValue
    /// Paths of fields the kind does not have (dropped from `object`).
    public var unknownFields: [String]
    /// Validation failures (each a 422 cause).
    public var causes: [StatusCause]
}

/// A column of a `meta.k8s.io/v1` Table.
public struct TableColumn: Sendable, Hashable {
    public var name: String
    public var type: String
    public var format: String
    public var description: String
    public var priority: Int

    public init(_ name: String, _ type: String = "string", format: String = "", priority: Int = 0, _ description: String = "") {
        self.name = name
        self.type = type
        self.format = format
        self.description = description
        self.priority = priority
    }
}

/// Everything the generic API machinery knows about one kind: names, scope, how to admit
/// a written object, which fields may be selected, and how it prints in a table.
public struct ResourceDescriptor: Sendable {
    public let group: String
    public let version: String
    public let kind: String
    public let plural: String
    public let singular: String
    public let namespaced: Bool
    public let shortNames: [String]
    public let categories: [String]
    public let subresources: Set<String>
    public let nameRule: NameRule
    public let fieldSelectors: Set<String>
    /// Kinds with a spec count `metadata.generation` up when anything outside metadata and status changes.
    public let tracksGeneration: Bool
    public let columns: [TableColumn]
    public let row: @Sendable (JSONValue, Date) -> [JSONValue]
    let admitter: @Sendable (JSONValue, JSONValue?) throws(BerthError) -> AdmittedObject
    let schemaProbe: @Sendable (SchemaProbe) -> String?

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var groupVersion: String { apiVersion }
    /// `pods`, `deployments.apps`: how Kubernetes names the resource in messages.
    public var qualifiedResource: String { group.isEmpty ? plural : "\(plural).\(group)" }

    init<T: APIResource>(
        _ type: T.Type, group: String = "", version: String = "v1", plural: String, namespaced: Bool = true,
        shortNames: [String] = [], categories: [String] = [], subresources: Set<String> = [],
        nameRule: NameRule = .subdomain, fieldSelectors: Set<String> = [], tracksGeneration: Bool = false,
        columns: [TableColumn], row: @escaping @Sendable (JSONValue, Date) -> [JSONValue]
    ) {
        let kind = String(describing: T.self)
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = kind.lowercased()
        self.namespaced = namespaced
        self.shortNames = shortNames
        self.categories = categories
        self.subresources = subresources
        self.nameRule = nameRule
        self.fieldSelectors = fieldSelectors.union(["metadata.name", "metadata.namespace"])
        self.tracksGeneration = tracksGeneration
        self.columns = [TableColumn("Name", format: "name", "Name must be unique within a namespace.")] + columns
        self.row = row
        self.schemaProbe = { probe in
            _ = probe.schema(of: T.self)
            return probe.componentName(of: T.self)
        }
        let rule = nameRule
        self.admitter = { (json: JSONValue, old: JSONValue?) throws(BerthError) -> AdmittedObject in
            try Admission.admit(T.self, json, old: old, nameRule: rule, namespaced: namespaced)
        }
    }

    /// Probes the kind's Swift type into `probe` (see `SchemaProbe`); the name of its component.
    public func schemaComponent(in probe: SchemaProbe) -> String? { schemaProbe(probe) }

    /// Decodes, defaults, re-encodes and validates a written object.
    public func admit(_ object: JSONValue, old: JSONValue?) throws(BerthError) -> AdmittedObject {
        try admitter(object, old)
    }
}

enum Admission {
    static func admit<T: APIResource>(_ type: T.Type, _ json: JSONValue, old: JSONValue?, nameRule: NameRule, namespaced: Bool) throws(BerthError) -> AdmittedObject {
        if let old, let statusAlone = T.self as? any AdmitsStatusAlone.Type, let admitted = statusAlone.admitStatusAlone(json, old: old) {
            return admitted
        }
        var typed = try json.decode(T.self)
        T.applyDefaults(&typed)
        var oldTyped: T?
        if let old, T.validationNeedsOld(json, old: old) { oldTyped = try old.decode(T.self) }
        let normalized = try JSONValue(encoding: typed)
        var unknown: [String] = []
        collectUnknown(input: json, output: normalized, path: "", into: &unknown)
        unknown.removeAll { T.writeOnlyFields.contains($0) }
        var errors = FieldErrors()
        MetaValidation.validate(typed.metadata, rule: nameRule, namespaced: namespaced, into: &errors)
        errors.append(contentsOf: T.validate(typed, old: oldTyped))
        return AdmittedObject(object: normalized, unknownFields: unknown, causes: errors.causes)
    }

    /// Fields present in what the client sent but absent after a typed round trip are unknown.
    /// Paths are spelled only for the unknown ones (this walks every field of every write).
    static func collectUnknown(input: JSONValue, output: JSONValue, path: String, into unknown: inout [String]) {
        var stack: [PathPart] = []
        if !path.isEmpty { stack.append(.key(path)) }
        var found: [String] = []
        walkUnknown(input, output, &stack, &found)
        unknown.append(contentsOf: found.sorted())
    }

    enum PathPart {
        case key(String)
        case index(Int)
    }

    private static func walkUnknown(_ input: JSONValue, _ output: JSONValue, _ stack: inout [PathPart], _ found: inout [String]) {
        switch (input, output) {
        case (.object(let sent), .object(let kept)):
            for (key, value) in sent {
                if let keptValue = kept[key] {
                    switch value {
                    case .object, .array:
                        stack.append(.key(key))
                        walkUnknown(value, keptValue, &stack, &found)
                        stack.removeLast()
                    default:
                        continue
                    }
                } else if !value.isNull && !(value == .bool(false) && Defaults.falseFlags.contains(key)) {
                    // (A false flag defaulting dropped is known, not unknown: `dropFalseFlags`.)
                    stack.append(.key(key))
                    found.append(spell(stack))
                    stack.removeLast()
                }
            }
        case (.array(let sent), .array(let kept)):
            for (index, value) in sent.enumerated() where index < kept.count {
                switch value {
                case .object, .array:
                    stack.append(.index(index))
                    walkUnknown(value, kept[index], &stack, &found)
                    stack.removeLast()
                default:
                    continue
                }
            }
        default:
            break
        }
    }

    private static func spell(_ stack: [PathPart]) -> String {
        var text = ""
        for part in stack {
            switch part {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}
