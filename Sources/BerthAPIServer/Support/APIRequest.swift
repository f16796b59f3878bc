import BerthCore

/// What a resource request addresses, parsed from its path (Kubernetes' `RequestInfo`).
struct ResourceTarget: Sendable {
    var descriptor: ResourceDescriptor
    var namespace: String?
    var name: String?
    var subresource: String?
    /// Legacy `/watch/` path prefix.
    var legacyWatch = false
}

enum RoutedPath: Sendable {
    case resource(ResourceTarget)
    case coreVersions
    case groupList
    case group(String)
    case resourceList(group: String, version: String)
    case version
    case health(String)
    case openAPIRoot
    case openAPIGroup(group: String, version: String)
    case openAPIV2
    case notFound
}

enum PathRouter {
    static func route(_ path: String, registry: ResourceRegistry) throws(BerthError) -> RoutedPath {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard let first = segments.first else { return .notFound }
        switch first {
        case "version" where segments.count == 1: return .version
        case "healthz", "livez", "readyz": return .health(first)
        case "openapi":
            if segments.count == 2, segments[1] == "v3" { return .openAPIRoot }
            if segments.count == 2, segments[1] == "v2" { return .openAPIV2 }
            if segments.count == 4, segments[1] == "v3", segments[2] == "api" { return .openAPIGroup(group: "", version: segments[3]) }
            if segments.count == 5, segments[1] == "v3", segments[2] == "apis" { return .openAPIGroup(group: segments[3], version: segments[4]) }
            return .notFound
        case "api":
            if segments.count == 1 { return .coreVersions }
            guard segments[1] == "v1" else { return .notFound }
            if segments.count == 2 { return .resourceList(group: "", version: "v1") }
            return try resource(Array(segments[2...]), group: "", version: "v1", registry: registry)
        case "apis":
            if segments.count == 1 { return .groupList }
            let group = segments[1]
            guard registry.descriptors.contains(where: { $0.group == group }) else { return .notFound }
            if segments.count == 2 { return .group(group) }
            let version = segments[2]
            guard registry.descriptors.contains(where: { $0.group == group && $0.version == version }) else { return .notFound }
            if segments.count == 3 { return .resourceList(group: group, version: version) }
            return try resource(Array(segments[3...]), group: group, version: version, registry: registry)
        default:
            return .notFound
        }
    }

    static func resource(_ segments: [String], group: String, version: String, registry: ResourceRegistry) throws(BerthError) -> RoutedPath {
        var segments = segments
        var legacyWatch = false
        if segments.first == "watch" {
            legacyWatch = true
            segments.removeFirst()
        }
        func lookup(_ plural: String) -> ResourceDescriptor? {
            registry.descriptors.first { $0.group == group && $0.version == version && $0.plural == plural }
        }
        var namespace: String?
        if segments.count >= 3, segments[0] == "namespaces", let descriptor = lookup(segments[2]), descriptor.namespaced {
            namespace = segments[1]
            segments.removeFirst(2)
        }
        guard let plural = segments.first, let descriptor = lookup(plural) else {
            return .notFound
        }
        if namespace == nil, descriptor.namespaced, segments.count > 1 {
            // `/api/v1/pods/NAME` addresses nothing: named namespaced objects need a namespace.
            return .notFound
        }
        guard segments.count <= 3 else { return .notFound }
        var target = ResourceTarget(descriptor: descriptor, namespace: namespace, name: segments.count > 1 ? segments[1] : nil,
                                    subresource: segments.count > 2 ? segments[2] : nil)
        target.legacyWatch = legacyWatch
        return .resource(target)
    }
}

/// Query parameters of a request, decoded once.
struct QueryParameters: Sendable {
    private var values: [String: [String]] = [:]

    init(_ query: String?) {
        guard let query, !query.isEmpty else { return }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = Self.decode(String(parts[0]))
            let value = parts.count > 1 ? Self.decode(String(parts[1])) : ""
            values[key, default: []].append(value)
        }
    }

    subscript(_ key: String) -> String? { values[key]?.first }

    /// Every value of a repeated key (`command=sh&command=-c`).
    func all(_ key: String) -> [String] { values[key] ?? [] }

    func flag(_ key: String) -> Bool {
        guard let value = values[key]?.first else { return false }
        return value == "" || value == "true" || value == "1"
    }

    func integer(_ key: String) throws(BerthError) -> Int? {
        guard let text = values[key]?.first, !text.isEmpty else { return nil }
        guard let number = Int(text) else { throw BerthError(.badRequest, "invalid value for \(key): \"\(text)\" is not an integer") }
        return number
    }

    static func decode(_ text: String) -> String {
        let replaced = text.replacingOccurrences(of: "+", with: " ")
        return replaced.removingPercentEncoding ?? replaced
    }
}

import Foundation
