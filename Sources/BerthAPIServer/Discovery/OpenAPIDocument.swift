import Hummingbird
import Synchronization
import BerthCore

/// OpenAPI v3 documents, one per group-version. They describe every path and operation with
/// Kubernetes' `x-kubernetes-group-version-kind` and `x-kubernetes-action` extensions and the
/// query parameters each accepts — among them `fieldValidation`, which is how kubectl learns
/// that this server validates fields itself (so `kubectl apply` sends `fieldValidation=Strict`).
/// `components.schemas` holds a schema for every served kind and the types inside it, read off
/// the kinds' own decoders (`SchemaProbe`); `kubectl explain` walks them. Documents are built
/// once per group-version and kept: they depend only on the registry.
enum OpenAPIDocument {
    private static let cache = Mutex<[String: JSONValue]>([:])

    /// The group-version's document, built on first use.
    static func cachedGroupVersion(group: String, version: String, _ registry: ResourceRegistry) -> JSONValue? {
        let key = "\(group)/\(version):" + registry.descriptors.filter { $0.group == group && $0.version == version }.map(\.kind).joined(separator: ",")
        if let document = cache.withLock({ $0[key] }) { return document }
        guard let document = groupVersion(group: group, version: version, registry) else { return nil }
        cache.withLock { $0[key] = document }
        return document
    }

    /// Component names as Kubernetes spells them (`io.k8s.api.apps.v1.Deployment`), so the
    /// type kubectl prints after a field name is the familiar one.
    static func componentPrefix(group: String, version: String) -> String {
        if group.isEmpty { return "io.k8s.api.core.\(version)" }
        if group.hasSuffix(".k8s.io") { return "io.k8s.api.\(group.dropLast(".k8s.io".count)).\(version)" }
        if group.contains(".") { return "\(group.split(separator: ".").reversed().joined(separator: ".")).\(version)" }
        return "io.k8s.api.\(group).\(version)"
    }

    /// Schemas of the group-version's kinds, each marked with its group, version and kind.
    static func schemas(_ descriptors: [ResourceDescriptor], group: String, version: String) -> (components: [String: JSONValue], kinds: [String: String]) {
        let probe = SchemaProbe(namePrefix: componentPrefix(group: group, version: version), describe: SchemaDescriptions.describe)
        var kinds: [String: String] = [:]
        for descriptor in descriptors {
            guard let name = descriptor.schemaComponent(in: probe) else { continue }
            kinds[descriptor.kind] = name
            probe.makeOptional(component: name, "metadata")
            probe.annotate(component: name, "x-kubernetes-group-version-kind",
                           [["group": .string(group), "version": .string(version), "kind": .string(descriptor.kind)]])
        }
        return (probe.components, kinds)
    }

    static func root(_ registry: ResourceRegistry) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for groupVersion in registry.groupVersions {
            let path = groupVersion.contains("/") ? "apis/\(groupVersion)" : "api/\(groupVersion)"
            paths[path] = ["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(Discovery.berthVersion)")]
        }
        return ["paths": .object(paths)]
    }

    /// The OpenAPI v2 document: an empty one. Berth's schemas are in the v3 documents, which
    /// kubectl reads first; it falls back to v2 only for a kind the v3 documents do not list
    /// (a kind Berth does not serve). Finding no schema there it skips client-side validation
    /// and sends the object, and the answer is kubectl's ordinary `no matches for kind`
    /// instead of `failed to download openapi`. kubectl asks for gnostic's protobuf form.
    static func version2(accept: String?) -> Response {
        let title = "Berth", version = "v\(Discovery.kubernetesVersion.major).\(Discovery.kubernetesVersion.minor).0"
        guard let accept, accept.contains("protobuf") else {
            return Responses.json(["swagger": "2.0", "info": ["title": .string(title), "version": .string(version)], "paths": [:], "definitions": [:]])
        }
        // openapi_v2.Document { swagger = 1; info = 2 }, Info { title = 1; version = 2 }.
        var info: [UInt8] = []
        protobufString(field: 1, title, into: &info)
        protobufString(field: 2, version, into: &info)
        var document: [UInt8] = []
        protobufString(field: 1, "2.0", into: &document)
        protobufBytes(field: 2, info, into: &document)
        var response = Responses.bytes(document)
        // What kubectl asks for spells the version with an `@`, which is not a valid media type
        // to Go's parser: answer with the dotted spelling Kubernetes uses.
        response.headers[.contentType] = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        return response
    }

    private static func protobufString(field: UInt8, _ text: String, into buffer: inout [UInt8]) {
        protobufBytes(field: field, Array(text.utf8), into: &buffer)
    }

    /// A length-delimited field; every value here is shorter than 128 bytes (one-byte length).
    private static func protobufBytes(field: UInt8, _ bytes: [UInt8], into buffer: inout [UInt8]) {
        precondition(bytes.count < 128)
        buffer.append(field << 3 | 2)
        buffer.append(UInt8(bytes.count))
        buffer.append(contentsOf: bytes)
    }

    static func parameter(_ name: String, _ location: String = "query", type: String = "string") -> JSONValue {
        ["name": .string(name), "in": .string(location), "schema": ["type": .string(type)], "required": .bool(location == "path")]
    }

    static func operation(_ descriptor: ResourceDescriptor, action: String, kind: (group: String, version: String, kind: String)? = nil,
                          parameters: [JSONValue], schema: String? = nil) -> JSONValue {
        let gvk = kind ?? (descriptor.group, descriptor.version, descriptor.kind)
        var operation: [String: JSONValue] = [
            "operationId": .string("\(action)\(descriptor.kind)"),
            "x-kubernetes-action": .string(action),
            "x-kubernetes-group-version-kind": ["group": .string(gvk.group), "version": .string(gvk.version), "kind": .string(gvk.kind)],
            "parameters": .array(parameters),
            "responses": ["200": ["description": "OK"]],
        ]
        if let schema {
            let content: JSONValue = ["application/json": ["schema": ["$ref": .string("#/components/schemas/\(schema)")]]]
            operation["responses"] = ["200": ["description": "OK", "content": content]]
            if ["post", "put"].contains(action) { operation["requestBody"] = ["required": true, "content": content] }
        }
        return .object(operation)
    }

    static func groupVersion(group: String, version: String, _ registry: ResourceRegistry) -> JSONValue? {
        let descriptors = registry.descriptors.filter { $0.group == group && $0.version == version }
        guard !descriptors.isEmpty else { return nil }
        let base = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        let write = [parameter("dryRun"), parameter("fieldManager"), parameter("fieldValidation"), parameter("pretty")]
        let read = [parameter("pretty")]
        let listing = ["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "watch", "allowWatchBookmarks"].map { parameter($0) }
        let (components, kinds) = schemas(descriptors, group: group, version: version)
        var paths: [String: JSONValue] = [:]
        for descriptor in descriptors {
            let schema = kinds[descriptor.kind]
            let collection = descriptor.namespaced ? "\(base)/namespaces/{namespace}/\(descriptor.plural)" : "\(base)/\(descriptor.plural)"
            let scope = descriptor.namespaced ? [parameter("namespace", "path")] : []
            paths[collection] = [
                "parameters": .array(scope),
                "get": operation(descriptor, action: "list", parameters: listing),
                "post": operation(descriptor, action: "post", parameters: write, schema: schema),
                "delete": operation(descriptor, action: "deletecollection", parameters: listing),
            ]
            let item = "\(collection)/{name}"
            paths[item] = [
                "parameters": .array(scope + [parameter("name", "path")]),
                "get": operation(descriptor, action: "get", parameters: read, schema: schema),
                "put": operation(descriptor, action: "put", parameters: write, schema: schema),
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
            "components": ["schemas": .object(components)],
        ]
    }
}
