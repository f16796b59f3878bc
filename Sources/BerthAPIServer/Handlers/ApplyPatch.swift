import BerthClient
import BerthCore
import BerthStore
import Hummingbird

/// `PATCH` with `application/apply-patch+yaml`: server-side apply (`kubectl apply
/// --server-side`). Creates the object when it does not exist; otherwise merges the
/// configuration under the `fieldManager`'s ownership (`ServerSideApply`), a 409 naming each
/// field another manager owns unless `force=true`.
extension APIServer {
    static let applyPatchType = "application/apply-patch+yaml"

    func serverSideApply(_ target: ResourceTarget, _ name: String, _ request: Request, _ query: QueryParameters) async throws(BerthError) -> Response {
        let descriptor = target.descriptor
        guard target.subresource == nil || target.subresource == "status" else {
            throw BerthError(.unsupportedMediaType, "apply patches are not supported on the \(target.subresource ?? "") subresource")
        }
        let manager = query["fieldManager"] ?? ""
        guard !manager.isEmpty else {
            throw BerthError.invalid(kind: "PatchOptions", name: "", group: "meta.k8s.io",
                                     causes: [StatusCause(reason: "FieldValueRequired", message: "Required value: is required for apply patch", field: "fieldManager")])
        }
        let force = query.flag("force")
        let config = try Self.applyConfiguration(try await readBody(request))
        guard config.objectValue != nil else { throw BerthError(.badRequest, "failed to decode apply patch: expected an object") }
        if (config["apiVersion"]?.stringValue ?? "").isEmpty || (config["kind"]?.stringValue ?? "").isEmpty {
            throw BerthError(.badRequest, "apply patches must name apiVersion and kind")
        }
        let object = try checkTypeAndNamespace(config, target)
        if let sent = config.value(at: ["metadata", "name"])?.stringValue, sent != name {
            throw BerthError(.badRequest, "the name of the object (\(sent)) does not match the name on the URL (\(name))")
        }
        let time = clock.timestamp()
        let existing: JSONValue?
        do {
            existing = try await storage.get(descriptor, namespace: target.namespace, name: name)
        } catch where error.code == .notFound {
            existing = nil
        }
        guard existing != nil else {
            // Nothing to merge with: the configuration is the object, owned by this manager.
            guard target.subresource == nil else { throw BerthError.notFound(descriptor.plural, name, group: descriptor.group) }
            var created = object
            created.set(.string(name), at: ["metadata", "name"])
            let merged = try Self.mergeApplied(created, into: nil, manager: manager, force: force, apiVersion: descriptor.apiVersion, time: time, name: name)
            return try await create(target, created, query, request, managedFields: merged.value(at: ["metadata", "managedFields"]))
        }
        let precondition = config.value(at: ["metadata", "resourceVersion"])?.stringValue
        let (stored, warnings) = try await applyUpdate(target, name, query: query, preconditionFromBody: precondition != nil,
                                                       ownsManagedFields: true) { (current: JSONValue) throws(BerthError) -> JSONValue in
            var merged = try Self.mergeApplied(object, into: current, manager: manager, force: force, apiVersion: descriptor.apiVersion, time: time, name: name)
            merged.set(precondition.map { .string($0) }, at: ["metadata", "resourceVersion"])
            return merged
        }
        return Responses.json(stored, headers: warningHeaders(warnings))
    }

    static func mergeApplied(_ config: JSONValue, into live: JSONValue?, manager: String, force: Bool, apiVersion: String, time: String,
                             name: String) throws(BerthError) -> JSONValue {
        switch ServerSideApply.apply(config, to: live, manager: manager, force: force, apiVersion: apiVersion, time: time) {
        case .success(let merged):
            return merged
        case .failure(let conflict):
            let causes = conflict.conflicts.map { StatusCause(reason: "FieldManagerConflict", message: "conflict with \"\($0.manager)\"", field: $0.field) }
            throw BerthError(.conflict, conflict.message, causes: causes, details: StatusDetails(name: name, causes: causes))
        }
    }

    /// The body as JSON, or as a single YAML document (the media type's name).
    static func applyConfiguration(_ bytes: [UInt8]) throws(BerthError) -> JSONValue {
        guard !bytes.isEmpty else { throw BerthError(.badRequest, "the request body is empty") }
        if let json = try? JSONParser.parse(bytes) { return json }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw BerthError(.badRequest, "failed to decode apply patch: not UTF-8") }
        let documents = try YAMLConversion.parseDocuments(text)
        guard documents.count == 1, let document = documents.first else {
            throw BerthError(.badRequest, "failed to decode apply patch: expected one YAML document, got \(documents.count)")
        }
        return document
    }
}
