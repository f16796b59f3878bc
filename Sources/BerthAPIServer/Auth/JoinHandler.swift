import BerthCore
import Hummingbird

/// The two Berth-specific paths a host uses to join. `cluster-ca` is public: the joining host
/// checks the CA it gets against the `sha256:` hash it was given with the token, so a
/// man in the middle cannot pose as the server. `join` takes a bootstrap token and a CSR and
/// returns the node's client certificate.
public enum JoinPaths {
    public static let clusterCA = "/berth/v1/cluster-ca"
    public static let join = "/berth/v1/join"
}

extension APIServer {
    func clusterCA() throws(BerthError) -> Response {
        guard let issuer = configuration.nodeCertificates else { throw BerthError(.notFound, "this server does not issue node certificates") }
        return Responses.json(["caCertificate": .string(issuer.caCertificatePEM)])
    }

    /// Reached only by the admin or a bootstrap token's holder (`authorize`).
    func join(_ request: Request, user: UserInfo) async throws(BerthError) -> Response {
        guard request.method == .post else { throw BerthError(.methodNotAllowed, "the server does not allow this method on the requested resource") }
        guard let issuer = configuration.nodeCertificates else { throw BerthError(.notFound, "this server does not issue node certificates") }
        let body = try await readJSON(request)
        guard let nodeName = body["nodeName"]?.stringValue, !nodeName.isEmpty else {
            throw BerthError.invalid(kind: "NodeJoin", name: "", causes: [.required("nodeName")])
        }
        if let problem = NameValidation.dns1123SubdomainProblem(nodeName) {
            throw BerthError.invalid(kind: "NodeJoin", name: nodeName, causes: [.invalid("nodeName", nodeName, problem)])
        }
        guard let csr = body["csr"]?.stringValue else { throw BerthError.invalid(kind: "NodeJoin", name: nodeName, causes: [.required("csr")]) }
        let addresses = (body["addresses"]?.arrayValue ?? []).compactMap(\.stringValue)
        let certificate = try issuer.issue(csrPEM: csr, nodeName: nodeName, pool: body["pool"] == .bool(true), addresses: addresses)
        logger.info("node joined", metadata: ["node": "\(nodeName)", "by": "\(user.name)"])
        return Responses.json(["certificate": .string(certificate), "caCertificate": .string(issuer.caCertificatePEM)], status: .created)
    }
}
