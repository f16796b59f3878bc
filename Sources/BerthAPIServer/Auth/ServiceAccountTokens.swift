import BerthCore
import Crypto
import Foundation

/// Bound ServiceAccount tokens, as Kubernetes issues them for TokenRequest: JWTs signed ES256
/// with the cluster CA's key, so every server holding the cluster's identity issues and checks
/// them alike. Claims: issuer, subject `system:serviceaccount:NS:NAME`, audiences, expiry, and
/// `kubernetes.io` naming the ServiceAccount (and the object the token is bound to) with UIDs —
/// a token is only good while they still exist.
struct ServiceAccountTokens: Sendable {
    static let issuer = "https://kubernetes.default.svc.cluster.local"
    let key: P256.Signing.PrivateKey
    let keyID: String

    init(key: P256.Signing.PrivateKey) {
        self.key = key
        keyID = Self.base64URL(Array(SHA256.hash(data: key.publicKey.derRepresentation)))
    }

    struct Claims: Sendable {
        var namespace: String
        var name: String
        var uid: String
        var audiences: [String]
        var expires: Date
        var notBefore: Date
        /// The Pod or Secret the token is bound to, with its UID.
        var bound: (kind: String, name: String, uid: String)?
    }

    func issue(_ claims: Claims) throws(BerthError) -> String {
        var payload: JSONValue = [
            "iss": .string(Self.issuer), "sub": .string(ServiceAccount.userName(namespace: claims.namespace, name: claims.name)),
            "aud": .array(claims.audiences.map { .string($0) }),
            "exp": .number(String(Int64(claims.expires.timeIntervalSince1970))), "iat": .number(String(Int64(claims.notBefore.timeIntervalSince1970))),
            "nbf": .number(String(Int64(claims.notBefore.timeIntervalSince1970))),
            "kubernetes.io": ["namespace": .string(claims.namespace), "serviceaccount": ["name": .string(claims.name), "uid": .string(claims.uid)]],
        ]
        if let bound = claims.bound {
            payload.set(["name": .string(bound.name), "uid": .string(bound.uid)], at: ["kubernetes.io", bound.kind == "Pod" ? "pod" : "secret"])
        }
        return try sign(payload)
    }

    /// A compact JWT of `payload`, signed ES256 with this key (ServiceAccount and registry tokens).
    func sign(_ payload: JSONValue) throws(BerthError) -> String {
        let header: JSONValue = ["alg": "ES256", "kid": .string(keyID)]
        let signingInput = Self.base64URL(JSONWriter.bytes(header)) + "." + Self.base64URL(JSONWriter.bytes(payload))
        do {
            let signature = try key.signature(for: Array(signingInput.utf8))
            return signingInput + "." + Self.base64URL(Array(signature.rawRepresentation))
        } catch {
            throw BerthError(.internalError, "failed to sign a token: \(error)")
        }
    }

    /// The payload of a JWT this key signed, or nil (malformed or badly signed).
    func verifiedPayload(_ token: String) -> JSONValue? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let headerBytes = Self.decodeBase64URL(parts[0]), let payloadBytes = Self.decodeBase64URL(parts[1]),
              let signatureBytes = Self.decodeBase64URL(parts[2]),
              let header = try? JSONParser.parse(headerBytes), header["alg"] == "ES256",
              let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
              key.publicKey.isValidSignature(signature, for: Array((parts[0] + "." + parts[1]).utf8)) else { return nil }
        return try? JSONParser.parse(payloadBytes)
    }

    /// The claims of a token this cluster signed, or nil (not ours, malformed, or badly signed).
    func verify(_ token: String) -> Claims? {
        guard let payload = verifiedPayload(token), payload["iss"]?.stringValue == Self.issuer,
              let exp = payload["exp"]?.intValue, let namespace = payload.value(at: ["kubernetes.io", "namespace"])?.stringValue,
              let name = payload.value(at: ["kubernetes.io", "serviceaccount", "name"])?.stringValue,
              let uid = payload.value(at: ["kubernetes.io", "serviceaccount", "uid"])?.stringValue,
              payload["sub"]?.stringValue == ServiceAccount.userName(namespace: namespace, name: name) else { return nil }
        var bound: (String, String, String)?
        for kind in ["pod", "secret"] {
            if let object = payload.value(at: ["kubernetes.io", kind]), let boundName = object["name"]?.stringValue, let boundUID = object["uid"]?.stringValue {
                bound = (kind == "pod" ? "Pod" : "Secret", boundName, boundUID)
            }
        }
        return Claims(namespace: namespace, name: name, uid: uid, audiences: (payload["aud"]?.arrayValue ?? []).compactMap(\.stringValue),
                      expires: Date(timeIntervalSince1970: TimeInterval(exp)),
                      notBefore: Date(timeIntervalSince1970: TimeInterval(payload["nbf"]?.intValue ?? 0)), bound: bound)
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        guard text.count <= 64 * 1024 else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }
}

extension NodeCertificateIssuer {
    /// The ServiceAccount token signer, on the cluster CA's key.
    var serviceAccountTokens: ServiceAccountTokens { ServiceAccountTokens(key: caKey) }
}
