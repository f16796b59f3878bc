import Foundation

/// `core/v1` ResourceQuota: a ceiling on what a namespace's objects may use together — compute
/// requests and limits, object counts (`pods`, `count/deployments.apps`, …), node ports — optionally
/// only for pods in a scope (`BestEffort`, `NotBestEffort`, `Terminating`, `NotTerminating`,
/// `PriorityClass`). Admission charges `status.used` in the same store transaction as the write it
/// admits (`QuotaPolicy`), and the quota controller recounts it from the objects themselves.
public struct ResourceQuota: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "ResourceQuota"
    public var metadata: ObjectMeta
    public var spec: ResourceQuotaSpec?
    public var status: ResourceQuotaStatus?

    public init(metadata: ObjectMeta, spec: ResourceQuotaSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct ResourceQuotaSpec: Codable, Sendable, Hashable {
    public var hard: [String: Quantity]?
    public var scopes: [String]?
    public var scopeSelector: ScopeSelector?

    public init(hard: [String: Quantity]? = nil, scopes: [String]? = nil) {
        self.hard = hard
        self.scopes = scopes
    }
}

public struct ScopeSelector: Codable, Sendable, Hashable {
    public var matchExpressions: [ScopedResourceSelectorRequirement]?
}

public struct ScopedResourceSelectorRequirement: Codable, Sendable, Hashable {
    public var scopeName: String
    public var `operator`: String
    public var values: [String]?
}

public struct ResourceQuotaStatus: Codable, Sendable, Hashable {
    public var hard: [String: Quantity]?
    public var used: [String: Quantity]?

    public init(hard: [String: Quantity]? = nil, used: [String: Quantity]? = nil) {
        self.hard = hard
        self.used = used
    }
}

extension ResourceQuota: APIResource {
    public static let scopeNames = ["Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass"]
    public static let scopeOperators = ["In", "NotIn", "Exists", "DoesNotExist"]

    public static func validate(_ object: ResourceQuota, old: ResourceQuota?) -> FieldErrors {
        var errors = FieldErrors()
        for (name, value) in (object.spec?.hard ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !QuotaPolicy.isQuotaResourceName(name) {
                errors.invalid("spec.hard[\(name)]", name, "must be a standard resource type or fully qualified")
            }
            if value.nanos < 0 { errors.invalid("spec.hard[\(name)]", value.description, "must be greater than or equal to 0") }
        }
        var scopes = object.spec?.scopes ?? []
        for (index, scope) in scopes.enumerated() where !scopeNames.contains(scope) {
            errors.notSupported("spec.scopes[\(index)]", scope, scopeNames)
        }
        for (index, requirement) in (object.spec?.scopeSelector?.matchExpressions ?? []).enumerated() {
            let path = "spec.scopeSelector.matchExpressions[\(index)]"
            if !scopeNames.contains(requirement.scopeName) { errors.notSupported("\(path).scopeName", requirement.scopeName, scopeNames) }
            if !scopeOperators.contains(requirement.operator) { errors.notSupported("\(path).operator", requirement.operator, scopeOperators) }
            let hasValues = !(requirement.values ?? []).isEmpty
            if ["In", "NotIn"].contains(requirement.operator), !hasValues {
                errors.required("\(path).values")
            } else if ["Exists", "DoesNotExist"].contains(requirement.operator), hasValues {
                errors.invalid("\(path).values", requirement.values?.joined(separator: ",") ?? "", "must be no value when `operator` is 'Exist' or 'DoesNotExist'")
            }
            if requirement.operator == "Exists" { scopes.append(requirement.scopeName) }
        }
        if scopes.contains("BestEffort"), scopes.contains("NotBestEffort") {
            errors.invalid("spec.scopes", scopes.joined(separator: ","), "conflicting scopes")
        }
        if scopes.contains("Terminating"), scopes.contains("NotTerminating") {
            errors.invalid("spec.scopes", scopes.joined(separator: ","), "conflicting scopes")
        }
        if scopes.contains("BestEffort") {
            for name in (object.spec?.hard ?? [:]).keys.sorted() where !["pods", "count/pods"].contains(name) {
                errors.invalid("spec.hard[\(name)]", name, "unsupported scope applied to resource")
            }
        }
        return errors
    }
}

extension ResourceDescriptor {
    public static let resourceQuota = ResourceDescriptor(
        ResourceQuota.self, plural: "resourcequotas", shortNames: ["quota"], subresources: ["status"],
        columns: [
            ageColumn,
            TableColumn("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
            TableColumn("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
        ]
    ) { object, now in
        // kubectl's columns: "used/hard" for each resource, limits apart from the rest.
        let hard = (object.value(at: ["status", "hard"]) ?? object.value(at: ["spec", "hard"]))?.objectValue ?? [:]
        let used = object.value(at: ["status", "used"])?.objectValue ?? [:]
        func cell(_ names: [String]) -> String {
            names.map { "\($0): \(used[$0]?.stringValue ?? "0")/\(hard[$0]?.stringValue ?? "")" }.joined(separator: ", ")
        }
        let names = hard.keys.sorted()
        return [.string(TableCells.string(object, "metadata", "name") ?? ""), TableCells.age(object, now: now),
                .string(cell(names.filter { !$0.hasPrefix("limits.") })), .string(cell(names.filter { $0.hasPrefix("limits.") }))]
    }
}
