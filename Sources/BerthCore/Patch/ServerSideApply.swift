/// Server-side apply (`PATCH` with `application/apply-patch+yaml`, `kubectl apply
/// --server-side`): the client sends the fields it wants to own; the server merges them into
/// the live object, removes the fields this manager applied before but no longer sends, and
/// records who owns what in `metadata.managedFields` (the `FieldsV1` format). A field another
/// manager owns may only be changed with `force`, otherwise the apply is a 409 naming the
/// fields and their owners.
///
/// Lists follow the strategic-merge rules of `StrategicMergePatch`: lists with a merge key are
/// owned item by item (`k:{"name":"app"}`), `finalizers` value by value (`v:"x"`), every other
/// list as a whole. Writes other than apply (PUT, the other patch types) record what they
/// change under an `Update` entry on objects that carry ownership (`UpdateOwnership.swift`).
public enum ServerSideApply {
    /// A path in `FieldsV1` notation: `f:spec`, `k:{"name":"app"}`, `v:"x"`.
    public typealias FieldPath = [String]

    public struct Conflict: Sendable, Equatable {
        public var manager: String
        public var field: String
        public init(manager: String, field: String) {
            self.manager = manager
            self.field = field
        }
    }

    /// Fields the identity of an object is made of, or that the server owns: never "owned".
    static let unownedMetadata: Set<String> = ["name", "namespace", "resourceVersion", "managedFields", "uid", "creationTimestamp",
                                                "generation", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"]

    /// The result of one apply: the merged object (with `managedFields` updated), or conflicts.
    public static func apply(_ config: JSONValue, to live: JSONValue?, manager: String, force: Bool,
                             apiVersion: String, time: String) -> Result<JSONValue, ConflictError> {
        let applied = fieldSet(of: config)
        var entries = (live?.value(at: ["metadata", "managedFields"])?.arrayValue ?? []).compactMap(Entry.init)
        let mine = entries.firstIndex { $0.manager == manager && $0.operation == "Apply" && $0.subresource == nil }
        let previous = mine.map { entries[$0].fields } ?? []
        if let mine { entries.remove(at: mine) }

        var merged = live ?? .object([:])
        if let live {
            // Conflicts: a value this apply changes on a field someone else owns.
            var conflicts: [Conflict] = []
            for path in applied where !isItem(path) {
                let current = value(at: path, in: live)
                guard current != value(at: path, in: config) else { continue }
                for index in entries.indices where entries[index].fields.contains(path) {
                    if force { entries[index].fields.remove(path) } else { conflicts.append(Conflict(manager: entries[index].manager, field: describe(path))) }
                }
            }
            if !conflicts.isEmpty { return .failure(ConflictError(conflicts: conflicts.sorted { ($0.field, $0.manager) < ($1.field, $1.manager) })) }
            // What this manager applied before and no longer sends goes, unless someone else owns
            // it or something inside it. Shorter paths first: a list item goes while its key field
            // still identifies it.
            let others = entries.reduce(into: Set<FieldPath>()) { $0.formUnion($1.fields) }
            for path in previous.subtracting(applied).sorted(by: { $0.count < $1.count })
            where !others.contains(where: { $0.starts(with: path) }) {
                remove(path, from: &merged)
            }
        }
        merged = merge(merged, config, schema: [])
        entries.removeAll { $0.fields.isEmpty }
        entries.append(Entry(manager: manager, operation: "Apply", apiVersion: apiVersion, time: time, subresource: nil, fields: applied))
        merged.set(.array(entries.map(\.json)), at: ["metadata", "managedFields"])
        return .success(merged)
    }

    public struct ConflictError: Error, Sendable {
        public var conflicts: [Conflict]
        public var message: String {
            let count = conflicts.count
            let lines = conflicts.map { "conflict with \"\($0.manager)\": \($0.field)" }
            return "Apply failed with \(count) conflict\(count == 1 ? "" : "s"): " + lines.joined(separator: "\n")
        }
    }

    // MARK: - Field sets

    /// Every field the configuration sets, as paths; list items with a merge key and set
    /// values are paths of their own (ownership of the item's existence).
    public static func fieldSet(of config: JSONValue) -> Set<FieldPath> {
        var paths = Set<FieldPath>()
        guard case .object(let fields) = config else { return paths }
        for (key, value) in fields where key != "apiVersion" && key != "kind" {
            if key == "metadata", case .object(let metadata) = value {
                for (field, child) in metadata where !unownedMetadata.contains(field) {
                    collect(child, path: ["f:metadata", "f:" + field], schema: ["metadata", field], into: &paths)
                }
            } else {
                collect(value, path: ["f:" + key], schema: [key], into: &paths)
            }
        }
        return paths
    }

    private static func collect(_ value: JSONValue, path: FieldPath, schema: [String], into paths: inout Set<FieldPath>) {
        switch value {
        case .null:
            return
        case .object(let fields) where !fields.isEmpty:
            for (key, child) in fields { collect(child, path: path + ["f:" + key], schema: schema + [key], into: &paths) }
        case .array(let items):
            switch StrategicMergePatch.strategy(for: schema) {
            case .mergeByKey(let key):
                for item in items {
                    guard let identity = itemIdentity(item, key: key) else { continue }
                    let itemPath = path + [identity]
                    paths.insert(itemPath)
                    if case .object(let fields) = item {
                        for (field, child) in fields { collect(child, path: itemPath + ["f:" + field], schema: schema + [field], into: &paths) }
                    }
                }
            case .mergePrimitives:
                for item in items { paths.insert(path + ["v:" + JSONWriter.string(item)]) }
            case .replace:
                paths.insert(path)
            }
        default:
            paths.insert(path)
        }
    }

    static func itemIdentity(_ item: JSONValue, key: String) -> String? {
        guard let value = item[key], !value.isNull else { return nil }
        return "k:" + JSONWriter.string(.object([key: value]))
    }

    static func isItem(_ path: FieldPath) -> Bool {
        guard let last = path.last else { return false }
        return last.hasPrefix("k:") || last.hasPrefix("v:")
    }

    /// `.spec.template.spec.containers[name="app"].image`, as Kubernetes prints conflicts.
    static func describe(_ path: FieldPath) -> String {
        path.map { element -> String in
            if element.hasPrefix("f:") { return "." + element.dropFirst(2) }
            if element.hasPrefix("k:"), case .object(let fields)? = try? JSONParser.parse(String(element.dropFirst(2))) {
                return "[" + fields.sorted { $0.key < $1.key }.map { "\($0.key)=\(JSONWriter.string($0.value))" }.joined(separator: ",") + "]"
            }
            return "[=" + element.dropFirst(2) + "]"
        }.joined()
    }

    // MARK: - Navigating objects by field path

    static func value(at path: FieldPath, in object: JSONValue) -> JSONValue? {
        var current = object
        for element in path {
            guard let next = child(element, of: current) else { return nil }
            current = next
        }
        return current
    }

    private static func child(_ element: String, of value: JSONValue) -> JSONValue? {
        if element.hasPrefix("f:") { return value[String(element.dropFirst(2))] }
        guard let items = value.arrayValue else { return nil }
        return items.first { matches($0, element) }
    }

    private static func matches(_ item: JSONValue, _ element: String) -> Bool {
        if element.hasPrefix("v:") { return JSONWriter.string(item) == element.dropFirst(2) }
        guard element.hasPrefix("k:"), case .object(let identity)? = try? JSONParser.parse(String(element.dropFirst(2))) else { return false }
        return identity.allSatisfy { item[$0.key] == $0.value }
    }

    static func remove(_ path: FieldPath, from object: inout JSONValue) {
        guard let first = path.first else { return }
        let rest = Array(path.dropFirst())
        if first.hasPrefix("f:") {
            let key = String(first.dropFirst(2))
            guard case .object(var fields) = object, var child = fields[key] else { return }
            if rest.isEmpty {
                fields.removeValue(forKey: key)
            } else {
                remove(rest, from: &child)
                fields[key] = child
            }
            object = .object(fields)
        } else if case .array(var items) = object, let index = items.firstIndex(where: { matches($0, first) }) {
            if rest.isEmpty { items.remove(at: index) } else { remove(rest, from: &items[index]) }
            object = .array(items)
        }
    }

    // MARK: - Merging

    /// The configuration merged into the live object: maps field by field, keyed lists item by
    /// item, set lists as a union, other lists replaced; `null` removes a field.
    static func merge(_ live: JSONValue, _ config: JSONValue, schema: [String]) -> JSONValue {
        guard case .object(let applied) = config else { return config }
        var result = live.objectValue ?? [:]
        for (key, value) in applied {
            if schema.isEmpty && key == "metadata", case .object(var metadata) = value {
                for field in unownedMetadata { metadata.removeValue(forKey: field) }
                result[key] = merge(result[key] ?? .object([:]), .object(metadata), schema: [key])
                continue
            }
            switch value {
            case .null:
                result.removeValue(forKey: key)
            case .object:
                result[key] = merge(result[key] ?? .object([:]), value, schema: schema + [key])
            case .array(let items):
                result[key] = mergeList(result[key]?.arrayValue ?? [], items, schema: schema + [key])
            default:
                result[key] = value
            }
        }
        return .object(result)
    }

    private static func mergeList(_ live: [JSONValue], _ applied: [JSONValue], schema: [String]) -> JSONValue {
        switch StrategicMergePatch.strategy(for: schema) {
        case .replace:
            return .array(applied)
        case .mergePrimitives:
            var result = live
            for item in applied where !result.contains(item) { result.append(item) }
            return .array(result)
        case .mergeByKey(let key):
            var result = live
            for item in applied {
                if let identity = item[key], let index = result.firstIndex(where: { $0[key] == identity }) {
                    result[index] = merge(result[index], item, schema: schema)
                } else {
                    result.append(item)
                }
            }
            return .array(result)
        }
    }

    // MARK: - managedFields entries

    struct Entry {
        var manager: String
        var operation: String
        var apiVersion: String
        var time: String
        var subresource: String?
        var fields: Set<FieldPath>

        init(manager: String, operation: String, apiVersion: String, time: String, subresource: String?, fields: Set<FieldPath>) {
            (self.manager, self.operation, self.apiVersion, self.time, self.subresource, self.fields) = (manager, operation, apiVersion, time, subresource, fields)
        }

        init?(_ json: JSONValue) {
            guard let manager = json["manager"]?.stringValue else { return nil }
            self.manager = manager
            operation = json["operation"]?.stringValue ?? "Update"
            apiVersion = json["apiVersion"]?.stringValue ?? ""
            time = json["time"]?.stringValue ?? ""
            subresource = json["subresource"]?.stringValue
            fields = FieldsV1.paths(json["fieldsV1"] ?? .object([:]))
        }

        var json: JSONValue {
            var object: [String: JSONValue] = ["manager": .string(manager), "operation": .string(operation), "apiVersion": .string(apiVersion),
                                               "time": .string(time), "fieldsType": "FieldsV1", "fieldsV1": FieldsV1.tree(fields)]
            if let subresource { object["subresource"] = .string(subresource) }
            return .object(object)
        }
    }
}

/// The `FieldsV1` tree form of a field set: each path element a key, leaves `{}`, and `"."`
/// marking a node that is owned itself as well as through its children.
public enum FieldsV1 {
    public static func tree(_ paths: Set<ServerSideApply.FieldPath>) -> JSONValue {
        var root: [String: JSONValue] = [:]
        for path in paths.sorted(by: { $0.count < $1.count }) { insert(path[...], into: &root) }
        return .object(root)
    }

    private static func insert(_ path: ArraySlice<String>, into node: inout [String: JSONValue]) {
        guard let first = path.first else { return }
        var child = node[first]?.objectValue ?? [:]
        if path.count == 1 {
            // Owned itself: a leaf, or (when children exist or come later) marked with ".".
            if !child.isEmpty { child["."] = .object([:]) }
            node[first] = .object(child)
            return
        }
        let wasLeaf = node[first] != nil && child.isEmpty
        insert(path.dropFirst(), into: &child)
        if wasLeaf { child["."] = .object([:]) }
        node[first] = .object(child)
    }

    public static func paths(_ tree: JSONValue) -> Set<ServerSideApply.FieldPath> {
        var paths = Set<ServerSideApply.FieldPath>()
        walk(tree, [], &paths)
        return paths
    }

    private static func walk(_ node: JSONValue, _ path: ServerSideApply.FieldPath, _ paths: inout Set<ServerSideApply.FieldPath>) {
        guard case .object(let children) = node else { return }
        if children.isEmpty, !path.isEmpty { paths.insert(path) }
        for (key, child) in children {
            if key == "." { paths.insert(path) } else { walk(child, path + [key], &paths) }
        }
    }
}
