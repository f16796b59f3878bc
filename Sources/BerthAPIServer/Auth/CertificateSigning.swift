import BerthCore
import BerthStore
import Foundation
import X509

/// The `certificates.k8s.io/v1` CSR API's server side: who asked is recorded at create; an
/// approval for the `kubernetes.io/kube-apiserver-client` signer is signed by the cluster CA in
/// the same write (`kubectl certificate approve` then finds the certificate at once); deleting a
/// CSR revokes the certificate it issued — its serial is kept under
/// `/registry/_revoked/certificates/`, which authentication consults (from the mirror) on every
/// request, so the certificate is refused with a 401 from then on.
extension APIServer {
    static let revokedCertificatesPrefix = "/registry/_revoked/certificates/"
    /// The longest certificate the client signer issues (Kubernetes' signer default: a year).
    static let longestClientCertificate: TimeInterval = 365 * 24 * 3600

    func recordRequester(_ object: JSONValue) async throws(BerthError) -> JSONValue {
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        let encoded = object.value(at: ["spec", "request"])?.stringValue ?? ""
        guard let pem = Data(base64Encoded: encoded).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw BerthError.invalid(kind: "CertificateSigningRequest", name: name, group: "certificates.k8s.io",
                                     causes: [.invalid("spec.request", "", "must be base64-encoded PEM")])
        }
        if case .failure(let error) = Result(catching: { () throws(BerthError) in try NodeCertificateIssuer.parseRequest(pem) }) {
            throw BerthError.invalid(kind: "CertificateSigningRequest", name: name, group: "certificates.k8s.io",
                                     causes: [.invalid("spec.request", "", error.message)])
        }
        let user = RequestUser.current ?? .anonymous
        var result = object
        result.set(.string(user.name), at: ["spec", "username"])
        result.set(user.uid.isEmpty ? nil : .string(user.uid), at: ["spec", "uid"])
        result.set(.array(user.groups.map { .string($0) }), at: ["spec", "groups"])
        result["status"] = nil
        return result
    }

    /// On approval, the client signer signs (unless the request asks for `system:masters`,
    /// which only the cluster's own credentials hold: that is a `Failed` condition).
    func signApproved(_ attempt: AdmissionAttempt) async throws(BerthError) -> JSONValue {
        var object = attempt.object
        let conditions = object.value(at: ["status", "conditions"])?.arrayValue ?? []
        guard conditions.contains(where: { $0["type"] == "Approved" }),
              object.value(at: ["spec", "signerName"])?.stringValue == CertificateSigningRequest.clientSigner,
              (object.value(at: ["status", "certificate"])?.stringValue ?? "").isEmpty,
              !conditions.contains(where: { $0["type"] == "Failed" }),
              let issuer = configuration.nodeCertificates,
              let pem = Data(base64Encoded: object.value(at: ["spec", "request"])?.stringValue ?? "").map({ String(decoding: $0, as: UTF8.self) }) else {
            return object
        }
        let csr = try NodeCertificateIssuer.parseRequest(pem)
        if NodeCertificateIssuer.identity(of: csr.subject).organizations.contains(UserInfo.masters) {
            let failed = CertificateSigningRequestCondition(type: "Failed", reason: "SignerValidationFailure",
                                                            message: "the kube-apiserver-client signer does not issue certificates for system:masters",
                                                            time: clock.timestamp())
            object.set(.array(conditions + [try JSONValue(encoding: failed)]), at: ["status", "conditions"])
            return object
        }
        let requested = object.value(at: ["spec", "expirationSeconds"])?.intValue.map(TimeInterval.init) ?? Self.longestClientCertificate
        let (certificate, _) = try issuer.signClientRequest(csrPEM: pem, validity: min(requested, Self.longestClientCertificate))
        object.set(.string(Data(certificate.utf8).base64EncodedString()), at: ["status", "certificate"])
        return object
    }

    /// Approving or denying needs `approve` on the signer (`signers` in certificates.k8s.io,
    /// named by the signer), besides `update` on the approval subresource — as in Kubernetes.
    func checkApprover(_ attempt: AdmissionAttempt) async throws(BerthError) {
        let user = RequestUser.current ?? .anonymous
        guard !user.isMaster else { return }
        let signer = attempt.object.value(at: ["spec", "signerName"])?.stringValue ?? ""
        let attributes = RequestAttributes(user: user, verb: "approve", group: "certificates.k8s.io", resource: "signers", subresource: nil, namespace: nil, name: signer)
        guard try await rbacIndex().allows(attributes) else {
            throw BerthError(.forbidden, "certificatesigningrequests.certificates.k8s.io \"\(attempt.object.value(at: ["metadata", "name"])?.stringValue ?? "")\" is forbidden: user not permitted to approve requests with signerName \"\(signer)\"")
        }
    }

    /// Records the certificate a CSR issued as revoked (before the CSR is deleted).
    func revokeIssuedCertificate(_ csr: JSONValue) async throws(BerthError) {
        guard let encoded = csr.value(at: ["status", "certificate"])?.stringValue, !encoded.isEmpty,
              let pem = Data(base64Encoded: encoded).map({ String(decoding: $0, as: UTF8.self) }),
              let certificate = try? Certificate(pemEncoded: pem) else { return }
        let record: JSONValue = ["csr": csr.value(at: ["metadata", "name"]) ?? .null, "subject": .string(String(describing: certificate.subject)),
                                 "revoked": .string(clock.timestamp())]
        _ = try await storage.kv.put(Self.revokedCertificatesPrefix + NodeCertificateIssuer.serialText(certificate.serialNumber), JSONWriter.bytes(record))
    }

    /// Whether a certificate (by serial) was revoked; read from the mirror, else the store.
    func isRevoked(serial: String) async -> Bool {
        let key = Self.revokedCertificatesPrefix + serial
        switch admissionMirror.value(at: key, under: Self.revokedCertificatesPrefix) {
        case .some(let value): return value != nil
        case .none: return (try? await storage.kv.get(key)) != nil
        }
    }
}
