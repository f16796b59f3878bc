/// Kubernetes' strategic merge patch (`application/strategic-merge-patch+json`): like a merge
/// patch, but lists with a merge key merge element-by-element, and the `$patch`,
/// `$retainKeys`, `$deleteFromPrimitiveList/…` and `$setElementOrder/…` directives apply.
/// The merge keys are those of the Kubernetes 1.33 types (`patchMergeKey` tags).
public enum StrategicMergePatch {
    public enum ListStrategy: Equatable, Sendable {
        case replace
        case mergeByKey(String)
        case mergePrimitives
    }

    /// The list strategy for a field, given the path of object keys leading to it.
    public static func strategy(for path: [String]) -> ListStrategy {
        guard let field = path.last else { return .replace }
        let parent = path.dropLast()
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "imagePullSecrets", "resourceClaims", "schedulingGates", "env", "volumes":
            return .mergeByKey("name")
        case "volumeMounts": return .mergeByKey("mountPath")
        case "volumeDevices": return .mergeByKey("devicePath")
        case "hostAliases": return .mergeByKey("ip")
        case "podIPs", "hostIPs": return .mergeByKey("ip")
        case "ownerReferences": return .mergeByKey("uid")
        case "finalizers": return parent.last == "metadata" ? .mergePrimitives : .replace
        case "conditions", "addresses": return .mergeByKey("type")
        case "topologySpreadConstraints": return .mergeByKey("topologyKey")
        case "ports":
            if parent.contains("containers") || parent.contains("initContainers") || parent.contains("ephemeralContainers") {
                return .mergeByKey("containerPort")
            }
            if parent.last == "spec" && !parent.contains("template") { return .mergeByKey("port") }
            return .replace
        default: return .replace
        }
    }

    public static func apply(_ patch: JSONValue, to original: JSONValue) throws(BerthError) -> JSONValue {
        try merge(original, patch, path: [])
    }

    static func merge(_ original: JSONValue, _ patch: JSONValue, path: [String]) throws(BerthError) -> JSONValue {
        guard case .object(var directives) = patch else { return patch }
        if let marker = directives.removeValue(forKey: "$patch") {
            switch marker.stringValue {
            case "replace": return try strip(.object(directives))
            case "delete": return .null
            case "merge": break
            default: throw BerthError(.badRequest, "failed to apply strategic merge patch: unknown $patch directive \"\(marker)\"")
            }
        }
        var result = original.objectValue ?? [:]
        let retainKeys = directives.removeValue(forKey: "$retainKeys")
        for (key, value) in directives.sorted(by: { $0.key < $1.key }) {
            if key.hasPrefix("$setElementOrder/") { continue }
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let remove = value.arrayValue ?? []
                if let items = result[field]?.arrayValue { result[field] = .array(items.filter { !remove.contains($0) }) }
                continue
            }
            let childPath = path + [key]
            switch value {
            case .null:
                result.removeValue(forKey: key)
            case .object:
                let merged = try merge(result[key] ?? .null, value, path: childPath)
                if merged.isNull { result.removeValue(forKey: key) } else { result[key] = merged }
            case .array(let items):
                result[key] = try mergeList(result[key]?.arrayValue ?? [], items, path: childPath)
            default:
                result[key] = value
            }
        }
        if let retain = retainKeys?.arrayValue?.compactMap(\.stringValue) {
            result = result.filter { retain.contains($0.key) }
        }
        // Apply any element ordering the client asked for.
        for (key, order) in directives where key.hasPrefix("$setElementOrder/") {
            let field = String(key.dropFirst("$setElementOrder/".count))
            guard let items = result[field]?.arrayValue, let order = order.arrayValue else { continue }
            result[field] = .array(reorder(items, by: order, strategy: strategy(for: path + [field])))
        }
        return .object(result)
    }

    static func mergeList(_ original: [JSONValue], _ patch: [JSONValue], path: [String]) throws(BerthError) -> JSONValue {
        // A `{"$patch": "replace"}` element replaces the whole list with the other elements.
        if patch.contains(where: { $0["$patch"]?.stringValue == "replace" }) {
            return try strip(.array(patch.filter { $0["$patch"]?.stringValue != "replace" }))
        }
        switch strategy(for: path) {
        case .replace:
            return try strip(.array(patch))
        case .mergePrimitives:
            var result = original
            for item in patch where !result.contains(item) { result.append(item) }
            return .array(result)
        case .mergeByKey(let mergeKey):
            var result = original
            for item in patch {
                guard case .object = item, let keyValue = item[mergeKey] else {
                    if item.objectValue == nil { throw BerthError(.badRequest, "failed to apply strategic merge patch: list \(path.joined(separator: ".")) needs objects with \"\(mergeKey)\"") }
                    result.append(try strip(item))
                    continue
                }
                let position = result.firstIndex { $0[mergeKey] == keyValue }
                if item["$patch"]?.stringValue == "delete" {
                    if let position { result.remove(at: position) }
                    continue
                }
                if let position {
                    result[position] = try merge(result[position], item, path: path)
                } else {
                    result.append(try merge(.object([:]), item, path: path))
                }
            }
            return .array(result)
        }
    }

    static func reorder(_ items: [JSONValue], by order: [JSONValue], strategy: ListStrategy) -> [JSONValue] {
        func identity(_ item: JSONValue) -> JSONValue {
            if case .mergeByKey(let key) = strategy { return item[key] ?? item }
            return item
        }
        let wanted = order.map { identity($0) }
        var ordered: [JSONValue] = []
        var rest = items
        for id in wanted {
            if let index = rest.firstIndex(where: { identity($0) == id }) { ordered.append(rest.remove(at: index)) }
        }
        return ordered + rest
    }

    /// Removes directives from values that are taken as they are.
    static func strip(_ value: JSONValue) throws(BerthError) -> JSONValue {
        switch value {
        case .object(let fields):
            var result: [String: JSONValue] = [:]
            for (key, child) in fields where !key.hasPrefix("$") { result[key] = try strip(child) }
            return .object(result)
        case .array(let items):
            var result: [JSONValue] = []
            for item in items { result.append(try strip(item)) }
            return .array(result)
        default:
            return value
        }
    }
}
