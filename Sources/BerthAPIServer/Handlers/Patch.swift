import BerthCore
import BerthStore
import Hummingbird

extension APIServer {
    enum PatchType: String {
        case merge = "application/merge-patch+json"
        case strategic = "application/strategic-merge-patch+json"
        case json = "application/json-patch+json"
    }

    func patch(_ target: ResourceTarget, _ name: String, _ request: Request, _ query: QueryParameters) async throws(BerthError) -> Response {
        let contentType = (request.headers[.contentType] ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if contentType == Self.applyPatchType { return try await serverSideApply(target, name, request, query) }
        guard let type = PatchType(rawValue: contentType) else {
            throw BerthError(.unsupportedMediaType, "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml")
        }
        let bytes = try await readBody(request)
        guard !bytes.isEmpty else { throw BerthError(.badRequest, "the request body is empty") }
        let patch = try JSONParser.parse(bytes)
        if type != .json, patch.objectValue == nil { throw BerthError(.badRequest, "failed to decode patch: expected a JSON object") }
        if target.subresource == "scale" { return try await patchScale(target, name, patch, type) }
        // A resourceVersion inside a merge patch is a precondition, as in Kubernetes.
        let precondition = type == .json ? nil : patch.value(at: ["metadata", "resourceVersion"])?.stringValue
        let manager = ServerSideApply.updateManager(fieldManager: query["fieldManager"], userAgent: request.headers[.userAgent])
        let (stored, warnings) = try await applyUpdate(target, name, query: query, preconditionFromBody: precondition != nil,
                                                       updateManager: manager) { (current: JSONValue) throws(BerthError) -> JSONValue in
            var base = current
            if precondition == nil { base.set(nil, at: ["metadata", "resourceVersion"]) }
            var patched = try Self.applyPatch(patch, type, to: base)
            guard case .object = patched else { throw BerthError(.badRequest, "the patch produced something that is not an object") }
            if precondition == nil { patched.set(nil, at: ["metadata", "resourceVersion"]) }
            if let patchedName = patched.value(at: ["metadata", "name"])?.stringValue, patchedName != name {
                throw BerthError.invalid(kind: target.descriptor.kind, name: name, group: target.descriptor.group,
                                         causes: [.invalid("metadata.name", patchedName, "field is immutable")])
            }
            return patched
        }
        return Responses.json(stored, headers: warningHeaders(warnings))
    }

    static func applyPatch(_ patch: JSONValue, _ type: PatchType, to object: JSONValue) throws(BerthError) -> JSONValue {
        switch type {
        case .merge: return MergePatch.apply(patch, to: object)
        case .strategic: return try StrategicMergePatch.apply(patch, to: object)
        case .json: return try JSONPatch.apply(patch, to: object)
        }
    }
}
