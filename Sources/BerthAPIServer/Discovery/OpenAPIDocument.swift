import BerthCore

/// OpenAPI v3 documents, one per group-version. They describe every path and operation with
/// Kubernetes' `x-kubernetes-group-version-kind` and `x-kubernetes-action` extensions and the
/// query parameters each accepts — among them `fieldValidation`, which is how kubectl learns
/// that this server validates fields itself (so `kubectl apply` sends `fieldValidation=Strict`).
/// Operations carry no request-body schemas: kubectl then computes strategic merge patches
/// from its own built-in types, exactly as against a Kubernetes server.
enum OpenAPIDocument {
    static func root(_ registry: ResourceRegistry) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for groupVersion in registry.groupVersions {
            let path = groupVersion.contains("/") ? "apis/\(groupVersion)" : "api/\(groupVersion)"
            paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(Discovery.berthVersion)")]
        }
        return ["paths": .object(paths)]
    }

    static func parameter(_ name: String, _ location: String = "query", type: String = "string") -> JSONValue {
        ["name": .string(name), "in": .string(location), "schema": ["type": .string(type)], "required": .bool(location == "path")]
    }

    static func operation(_ descriptor: ResourceDescriptor, action: String, kind: (group: String, version: String, kind: String)? = nil,
                          parameters: [JSONValue]) -> JSONValue {
        let gvk = kind ?? (descriptor.group, descriptor.version, descriptor.kind)
        return [
            "operationId": .string("\(action)\(descriptor.kind)"),
            "x-kubernetes-action": .string(action),
            "x-kubernetes-group-version-kind": ["group": .string(gvk.group), "version": .string(gvk.version), "kind": .string(gvk.kind)],
            "parameters": .array(parameters),
            "responses": ["200": ["description": "OK"]],
        ]
    }

    static func groupVersion(group: String, version: String, _ registry: ResourceRegistry) -> JSONValue? {
        let descriptors = registry.descriptors.filter { $0.group == group && $0.version == version }
        guard !descriptors.isEmpty else { return nil }
        let base = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        let write = [parameter("dryRun"), parameter("fieldManager"), parameter("fieldValidation"), parameter("pretty")]
        let read = [parameter("pretty")]
        let listing = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "watch", "allowWatchBookmarks"].map { parameter($0) }
        var paths: [String: JSONValue] = [:]
        for descriptor in descriptors {
            let collection = descriptor.namespaced ? "\(base)/namespaces/{namespace}/\(descriptor.plural)" : "\(base)/\(descriptor.plural)"
            let scope = descriptor.namespaced ? [parameter("namespace", "path")] : []
            paths[collection] = [
                "parameters": .array(scope),
                "get": operation(descriptor, action: "list", parameters: listing),
                "post": operation(descriptor, action: "post", parameters: write),
                "delete": operation(descriptor, action: "deletecollection", parameters: listing),
            ]
            let item = "\(collection)/{name}"
            paths[item] = [
                "parameters": .array(scope + [parameter("name", "path")]),
                "get": operation(descriptor, action: "get", parameters: read),
                "put": operation(descriptor, action: "put", parameters: write),
                "patch": operation(descriptor, action: "patch", parameters: write + [parameter("force")]),
                "delete": operation(descriptor, action: "delete", parameters: [parameter("dryRun"), parameter("gracePeriodSeconds"), parameter("propagationPolicy")]),
            ]
            for subresource in descriptor.subresources.sorted() where !["log", "exec", "attach", "portforward"].contains(subresource) {
                let kind = subresource == "scale" ? (group: "autoscaling", version: "v1", kind: "Scale") : (group: descriptor.group, version: descriptor.version, kind: descriptor.kind)
                paths["\(item)/\(subresource)"] = [
                    "parameters": .array(scope + [parameter("name", "path")]),
                    "get": operation(descriptor, action: "get", kind: kind, parameters: read),
                    "put": operation(descriptor, action: "put", kind: kind, parameters: write),
                    "patch": operation(descriptor, action: "patch", kind: kind, parameters: write),
                ]
            }
            if !descriptor.namespaced { continue }
            paths["\(base)/\(descriptor.plural)"] = ["get": operation(descriptor, action: "list", parameters: listing)]
        }
        return [
            "openapi": "3.0.0",
            "info": ["title": "Berth", "version": .string("v\(Discovery.kubernetesVersion.major).\(Discovery.kubernetesVersion.minor).0")],
            "paths": .object(paths),
            "components": ["schemas": [:]],
        ]
    }
}
