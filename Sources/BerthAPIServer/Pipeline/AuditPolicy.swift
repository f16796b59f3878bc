import BerthCore

/// `audit.k8s.io/v1` Policy (`--audit-policy-file`): rules in order, the first that matches a
/// request sets its level — None (not recorded), Metadata (who, what, when, the answer's code),
/// Request (and the request's body), RequestResponse (and the response's body); a request no
/// rule matches is not recorded. `omitStages` (policy-wide and per rule) drop stages:
/// RequestReceived (written before the request is handled) and ResponseComplete. Without a
/// policy file every request is recorded at Metadata, at ResponseComplete only.
public struct AuditPolicy: Sendable {
    public enum Level: String, Sendable, Comparable {
        case none = "None", metadata = "Metadata", request = "Request", requestResponse = "RequestResponse"

        static let order: [Level] = [.none, .metadata, .request, .requestResponse]
        public static func < (a: Level, b: Level) -> Bool { order.firstIndex(of: a)! < order.firstIndex(of: b)! }
    }

    public static let stages = ["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]

    struct GroupResources: Sendable {
        var group: String
        var resources: [String]
        var resourceNames: [String]
    }

    struct Rule: Sendable {
        var level: Level
        var users: [String]
        var userGroups: [String]
        var verbs: [String]
        var resources: [GroupResources]?
        var namespaces: [String]?
        var nonResourceURLs: [String]?
        var omitStages: [String]
    }

    let rules: [Rule]
    let omitStages: [String]

    /// Every request at Metadata, at ResponseComplete: what Berth records without a policy.
    public static let metadataForAll = AuditPolicy(rules: [Rule(level: .metadata, users: [], userGroups: [], verbs: [], resources: nil,
                                                                namespaces: nil, nonResourceURLs: nil, omitStages: [])],
                                                   omitStages: ["RequestReceived"])

    /// Whether any rule records bodies (the request path keeps them only then).
    var recordsBodies: Bool { rules.contains { $0.level >= .request } }

    public static func parse(_ document: JSONValue) throws(BerthError) -> AuditPolicy {
        func invalid(_ field: String, _ detail: String) -> BerthError { BerthError(.badRequest, "audit policy: \(field): \(detail)") }
        guard document["kind"]?.stringValue == "Policy", (document["apiVersion"]?.stringValue ?? "").hasPrefix("audit.k8s.io/") else {
            throw invalid("kind", "must be Policy of audit.k8s.io/v1")
        }
        func strings(_ value: JSONValue?, _ field: String) throws(BerthError) -> [String]? {
            guard let value else { return nil }
            guard let list = value.arrayValue else { throw invalid(field, "must be a list") }
            return list.compactMap(\.stringValue)
        }
        func stages(_ value: JSONValue?, _ field: String) throws(BerthError) -> [String] {
            let list = try strings(value, field) ?? []
            for stage in list where !AuditPolicy.stages.contains(stage) { throw invalid(field, "unknown stage \"\(stage)\"") }
            return list
        }
        var rules: [Rule] = []
        for (index, rule) in (document["rules"]?.arrayValue ?? []).enumerated() {
            let path = "rules[\(index)]"
            guard let levelText = rule["level"]?.stringValue, let level = Level(rawValue: levelText) else {
                throw invalid("\(path).level", "must be one of None, Metadata, Request, RequestResponse")
            }
            var resources: [GroupResources]?
            if let list = rule["resources"]?.arrayValue {
                resources = list.map { entry in
                    GroupResources(group: entry["group"]?.stringValue ?? "", resources: entry["resources"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                                   resourceNames: entry["resourceNames"]?.arrayValue?.compactMap(\.stringValue) ?? [])
                }
            }
            let urls = try strings(rule["nonResourceURLs"], "\(path).nonResourceURLs")
            if urls != nil, resources != nil || rule["namespaces"] != nil {
                throw invalid("\(path).nonResourceURLs", "rules cannot apply to both regular resources and non-resource URLs")
            }
            rules.append(Rule(level: level, users: try strings(rule["users"], "\(path).users") ?? [],
                              userGroups: try strings(rule["userGroups"], "\(path).userGroups") ?? [],
                              verbs: try strings(rule["verbs"], "\(path).verbs") ?? [], resources: resources,
                              namespaces: try strings(rule["namespaces"], "\(path).namespaces"), nonResourceURLs: urls,
                              omitStages: try stages(rule["omitStages"], "\(path).omitStages")))
        }
        return AuditPolicy(rules: rules, omitStages: try stages(document["omitStages"], "omitStages"))
    }

    /// The level and the stages left out for one request.
    func decide(_ attributes: RequestAttributes) -> (level: Level, omitted: [String]) {
        for rule in rules where Self.matches(rule, attributes) {
            return (rule.level, omitStages + rule.omitStages)
        }
        return (.none, omitStages)
    }

    static func matches(_ rule: Rule, _ attributes: RequestAttributes) -> Bool {
        let user = attributes.user
        if !rule.users.isEmpty, !rule.users.contains(user.name) { return false }
        if !rule.userGroups.isEmpty, !rule.userGroups.contains(where: user.groups.contains) { return false }
        if !rule.verbs.isEmpty, !rule.verbs.contains(attributes.verb) { return false }
        if attributes.isResourceRequest {
            if rule.nonResourceURLs != nil { return false }
            if let namespaces = rule.namespaces, !namespaces.contains(attributes.namespace ?? "") { return false }
            if let resources = rule.resources {
                return resources.contains { entry in
                    guard entry.group == attributes.apiGroup || entry.group == "*" else { return false }
                    let names = entry.resources
                    let wanted = attributes.qualifiedResource
                    let matchesResource = names.isEmpty || names.contains(wanted) || names.contains("*")
                        || (attributes.subresource != nil && (names.contains("*/\(attributes.subresource!)") || names.contains("\(attributes.resource)/*")))
                    guard matchesResource else { return false }
                    return entry.resourceNames.isEmpty || entry.resourceNames.contains(attributes.name ?? "")
                }
            }
            return true
        }
        if rule.resources != nil || rule.namespaces != nil { return false }
        guard let urls = rule.nonResourceURLs else { return true }
        return urls.contains { url in url == attributes.path || (url.hasSuffix("*") && attributes.path.hasPrefix(String(url.dropLast()))) }
    }
}
