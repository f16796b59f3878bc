import BerthAPIServer
import BerthClient
import BerthCore
import Crypto
import Foundation
import X509

/// A host joining the cluster: fetch the CA and pin it by hash, make a key and a CSR for
/// `system:node:NAME`, trade the bootstrap token for a signed client certificate, and keep it
/// in a kubeconfig so restarts use mutual TLS without the token.
struct AgentJoin {
    let server: String
    let token: String
    let caCertHash: String?
    let caFile: String?
    let nodeName: String
    /// Join as a pool of simulated nodes `NAME-N` (`--simulate`).
    var pool = false
    /// Addresses the node's certificate also serves on (its log endpoint).
    var addresses: [String] = []

    func run(savingTo path: String) async throws -> Kubeconfig {
        let ca = try await trustedCA()
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName(NodeCertificateIssuer.nodeGroup)
            CommonName((pool ? NodeCertificateIssuer.poolPrefix : NodeCertificateIssuer.nodePrefix) + nodeName)
        }
        let csr = try CertificateSigningRequest(version: .v1, subject: subject, privateKey: .init(key), attributes: CertificateSigningRequest.Attributes(),
                                                signatureAlgorithm: .ecdsaWithSHA256)
        let client = try APIClient(config: Kubeconfig(server: server, certificateAuthority: ca, token: token), maximumConnections: 1)
        defer { Task { await client.shutdown() } }
        let body: JSONValue = ["nodeName": .string(nodeName), "pool": .bool(pool), "csr": .string(try csr.serializeAsPEM().pemString),
                               "addresses": .array(addresses.map { .string($0) })]
        let reply = try await client.request(.POST, JoinPaths.join, body: JSONWriter.bytes(body)).checked()
        guard let certificate = try reply.json()["certificate"]?.stringValue else {
            throw BerthError(.internalError, "the server's join answer holds no certificate")
        }
        var config = Kubeconfig(server: server, certificateAuthority: ca, token: nil)
        config.clientCertificate = certificate
        config.clientKey = key.pemRepresentation
        FileManager.default.createFile(atPath: path, contents: Data(config.yaml().utf8), attributes: [.posixPermissions: 0o600])
        return config
    }

    /// The cluster CA: from `--ca-file`, or fetched without verification and then checked
    /// against `--ca-cert-hash`.
    func trustedCA() async throws -> String {
        if let caFile { return try String(contentsOfFile: caFile, encoding: .utf8) }
        guard let caCertHash else {
            throw BerthError(.badRequest, "joining needs --ca-cert-hash (printed by berth token create) or --ca-file")
        }
        var insecure = Kubeconfig(server: server, certificateAuthority: nil, token: nil)
        insecure.insecureSkipTLSVerify = true
        let client = try APIClient(config: insecure, maximumConnections: 1)
        defer { Task { await client.shutdown() } }
        let reply = try await client.request(.GET, JoinPaths.clusterCA).checked()
        guard let pem = try reply.json()["caCertificate"]?.stringValue else { throw BerthError(.internalError, "the server sent no CA") }
        let actual = try NodeCertificateIssuer.caHash(pem: pem)
        guard actual == caCertHash.lowercased() else {
            throw BerthError(.forbidden, "the server's CA does not match --ca-cert-hash (got \(actual)): refusing to join")
        }
        return pem
    }
}
