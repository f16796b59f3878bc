import BerthCore
import Crypto
import Foundation
import SwiftASN1
import X509

/// Signs node client certificates with the cluster CA. A node presents a CSR whose subject is
/// `CN=system:node:NAME, O=system:nodes` (Kubernetes' convention); the certificate it gets
/// back is what the node authorizer later reads its identity from.
public struct NodeCertificateIssuer: Sendable {
    let caKey: P256.Signing.PrivateKey
    let caCertificate: Certificate
    public let caCertificatePEM: String
    public var validity: TimeInterval = 365 * 86400

    public init(caCertificatePEM: String, caKeyPEM: String) throws(BerthError) {
        do {
            caKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
            caCertificate = try Certificate(pemEncoded: caCertificatePEM)
            self.caCertificatePEM = caCertificatePEM
        } catch {
            throw BerthError(.internalError, "failed to load the cluster CA: \(error)")
        }
    }

    public static let nodeGroup = "system:nodes"
    public static let nodePrefix = "system:node:"
    /// A pool of simulated nodes named `NAME-0`, `NAME-1` … behind one certificate.
    public static let poolPrefix = "system:node-pool:"

    /// Checks the CSR (its own signature, and a subject naming exactly this node) and signs it.
    /// `addresses` become IP subject alternative names, so the same certificate serves the
    /// agent's log endpoint that the API server calls.
    public func issue(csrPEM: String, nodeName: String, pool: Bool = false, addresses: [String] = []) throws(BerthError) -> String {
        let csr: X509.CertificateSigningRequest
        do {
            csr = try X509.CertificateSigningRequest(pemEncoded: csrPEM)
        } catch {
            throw BerthError.invalid(kind: "NodeJoin", name: nodeName, causes: [.invalid("csr", "", "not a PEM certificate signing request: \(error)")])
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw BerthError.invalid(kind: "NodeJoin", name: nodeName, causes: [.invalid("csr", "", "the signature does not match the request's key")])
        }
        let (commonName, organizations) = Self.identity(of: csr.subject)
        let expected = (pool ? Self.poolPrefix : Self.nodePrefix) + nodeName
        guard commonName == expected, organizations.contains(Self.nodeGroup) else {
            throw BerthError.invalid(kind: "NodeJoin", name: nodeName, causes: [
                .invalid("csr", "CN=\(commonName ?? "")", "the subject must be CN=\(expected), O=\(Self.nodeGroup)"),
            ])
        }
        do {
            let now = Date()
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: csr.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validity),
                issuer: caCertificate.subject, subject: csr.subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([.clientAuth, .serverAuth])
                    SubjectAlternativeNames([.dnsName(nodeName)] + addresses.compactMap(Self.ipName))
                },
                issuerPrivateKey: .init(caKey))
            return try certificate.serializeAsPEM().pemString
        } catch {
            throw BerthError(.internalError, "failed to sign the node certificate: \(error)")
        }
    }

    static func ipName(_ text: String) -> GeneralName? {
        let parts = text.split(separator: ".").compactMap { UInt8($0) }
        guard parts.count == 4 else { return nil }
        return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(parts)))
    }

    /// A client certificate for the API server itself (`CN=system:apiserver`), which agents
    /// require before serving logs and stats.
    public func apiServerClientCertificate() throws(BerthError) -> (certificatePEM: String, keyPEM: String) {
        try clientCertificate(name: Self.apiServerName, groups: ["system:masters"], validity: validity)
    }

    /// A client certificate and its new key for a user: CN = the name, one O per group (how the
    /// API server's authenticator reads it). `berth user create` hands it out in a kubeconfig.
    public func clientCertificate(name: String, groups: [String], validity: TimeInterval) throws(BerthError) -> (certificatePEM: String, keyPEM: String) {
        do {
            let key = P256.Signing.PrivateKey()
            let now = Date()
            let subject = try DistinguishedName {
                for group in groups { OrganizationName(group) }
                CommonName(name)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validity),
                issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([.clientAuth])
                },
                issuerPrivateKey: .init(caKey))
            return (try certificate.serializeAsPEM().pemString, key.pemRepresentation)
        } catch {
            throw BerthError(.internalError, "failed to issue a client certificate for \(name): \(error)")
        }
    }

    /// Signs a `certificates.k8s.io` request for the `kube-apiserver-client` signer: the
    /// request's own subject (CN = user, O = groups), client auth only, for `validity`. The
    /// certificate's serial number, hex, identifies it for revocation.
    public func signClientRequest(csrPEM: String, validity: TimeInterval) throws(BerthError) -> (certificatePEM: String, serial: String) {
        let csr = try Self.parseRequest(csrPEM)
        do {
            let now = Date()
            let serial = Certificate.SerialNumber()
            let certificate = try Certificate(
                version: .v3, serialNumber: serial, publicKey: csr.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(validity),
                issuer: caCertificate.subject, subject: csr.subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([.clientAuth])
                },
                issuerPrivateKey: .init(caKey))
            return (try certificate.serializeAsPEM().pemString, Self.serialText(serial))
        } catch {
            throw BerthError(.internalError, "failed to sign the certificate request: \(error)")
        }
    }

    /// A PEM certificate request whose signature matches its own key; what it asks for.
    public static func parseRequest(_ pem: String) throws(BerthError) -> X509.CertificateSigningRequest {
        let csr: X509.CertificateSigningRequest
        do {
            csr = try X509.CertificateSigningRequest(pemEncoded: pem)
        } catch {
            throw BerthError(.badRequest, "not a PEM certificate signing request: \(error)")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw BerthError(.badRequest, "the request's signature does not match its key")
        }
        return csr
    }

    public static func serialText(_ serial: Certificate.SerialNumber) -> String {
        serial.bytes.map { String(format: "%02x", $0) }.joined()
    }

    public static let apiServerName = "system:apiserver"

    /// Whether a client certificate comes from the cluster CA and is valid now. The TLS layer
    /// accepts any certificate (the peer still proves it holds the key), so that one from
    /// another CA is answered with a 401 the client can read rather than a failed handshake.
    public func issued(_ certificate: Certificate, now: Date = Date()) -> Bool {
        certificate.issuer == caCertificate.subject
            && caCertificate.publicKey.isValidSignature(certificate.signature, for: certificate)
            && certificate.notValidBefore <= now && now <= certificate.notValidAfter
    }

    /// The common name and organizations of a subject.
    public static func identity(of name: DistinguishedName) -> (commonName: String?, organizations: [String]) {
        var commonName: String?
        var organizations: [String] = []
        for rdn in name {
            for attribute in rdn {
                let text = String(describing: attribute.value)
                if attribute.type == .RDNAttributeType.commonName { commonName = text }
                if attribute.type == .RDNAttributeType.organizationName { organizations.append(text) }
            }
        }
        return (commonName, organizations)
    }

    /// SHA-256 of the CA certificate's DER, as `sha256:HEX`: what a joining node pins.
    public static func caHash(pem: String) throws(BerthError) -> String {
        do {
            let certificate = try Certificate(pemEncoded: pem)
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            return "sha256:" + SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02x", $0) }.joined()
        } catch {
            throw BerthError(.badRequest, "failed to read the CA certificate: \(error)")
        }
    }
}
