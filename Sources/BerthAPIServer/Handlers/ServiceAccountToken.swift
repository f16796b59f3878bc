import BerthCore
import Hummingbird

/// `POST …/serviceaccounts/NAME/token` (TokenRequest, `kubectl create token NAME --duration 1h`):
/// a signed token for the ServiceAccount, for the audiences asked (this API by default), for
/// 10 minutes to 2^32 seconds (1 hour by default), optionally bound to a Pod or Secret.
extension APIServer {
    func createToken(_ request: Request, _ target: ResourceTarget, _ name: String) async throws(BerthError) -> Response {
        guard request.method == .post else { throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource") }
        guard serviceAccountTokens != nil, let tokens = try await serviceAccountKeys().current else {
            throw BerthError(.notFound, "this server does not issue ServiceAccount tokens (it has no cluster CA)")
        }
        let namespace = target.namespace ?? "default"
        let body = try await readJSON(request)
        if let kind = body["kind"]?.stringValue, kind != "TokenRequest" {
            throw BerthError(.badRequest, "expected a TokenRequest, got \(kind)")
        }
        let account = try await storage.get(.serviceAccount, namespace: namespace, name: name)
        let spec = body["spec"] ?? [:]
        let seconds = spec["expirationSeconds"]?.intValue ?? 3600
        guard seconds >= 600, seconds <= Int(UInt32.max) else {
            throw BerthError.invalid(kind: "TokenRequest", name: name, group: "authentication.k8s.io",
                                     causes: [.invalid("spec.expirationSeconds", String(seconds), "may not specify a duration less than 10 minutes or longer than 2^32 seconds")])
        }
        var audiences = (spec["audiences"]?.arrayValue ?? []).compactMap(\.stringValue)
        if audiences.isEmpty { audiences = [ServiceAccountTokens.issuer] }
        var bound: (kind: String, name: String, uid: String)?
        if let reference = spec["boundObjectRef"], let kind = reference["kind"]?.stringValue, let boundName = reference["name"]?.stringValue {
            guard kind == "Pod" || kind == "Secret" else {
                throw BerthError.invalid(kind: "TokenRequest", name: name, group: "authentication.k8s.io",
                                         causes: [.notSupported("spec.boundObjectRef.kind", kind, ["Pod", "Secret"])])
            }
            let object = try await storage.get(kind == "Pod" ? .pod : .secret, namespace: namespace, name: boundName)
            let uid = object.value(at: ["metadata", "uid"])?.stringValue ?? ""
            if let asked = reference["uid"]?.stringValue, !asked.isEmpty, asked != uid {
                throw BerthError(.conflict, "the UID in the bound object reference (\(asked)) does not match the \(kind) \(boundName) (\(uid))")
            }
            bound = (kind, boundName, uid)
        }
        let now = clock.now()
        let expires = now.addingTimeInterval(Double(seconds))
        let token = try tokens.issue(ServiceAccountTokens.Claims(
            namespace: namespace, name: name, uid: account.value(at: ["metadata", "uid"])?.stringValue ?? "", audiences: audiences,
            expires: expires, notBefore: now, bound: bound))
        var answeredSpec: JSONValue = ["audiences": .array(audiences.map { .string($0) }), "expirationSeconds": .number(String(seconds))]
        if let bound { answeredSpec["boundObjectRef"] = ["kind": .string(bound.kind), "apiVersion": "v1", "name": .string(bound.name), "uid": .string(bound.uid)] }
        let answer: JSONValue = [
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "metadata": ["name": .string(name), "namespace": .string(namespace), "creationTimestamp": .string(TableCells.formatTimestamp(now))],
            "spec": answeredSpec,
            "status": ["token": .string(token), "expirationTimestamp": .string(TableCells.formatTimestamp(expires))],
        ]
        return Responses.json(answer, status: .created)
    }
}
