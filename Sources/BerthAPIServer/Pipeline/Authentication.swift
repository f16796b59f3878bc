import BerthCore
import BerthRegistry
import Foundation
import HTTPTypes
import NIOCore
import NIOSSL
import X509

/// The first step of every request: the credential becomes a `UserInfo`. A bearer token is
/// the admin's or a bootstrap token; a client certificate signed by the cluster CA names the
/// user (CN) and groups (O), as Kubernetes' x509 authenticator reads it — nodes are
/// `system:node:NAME` in `system:nodes`. No credential is `system:anonymous`. A credential
/// that is presented but wrong is a 401, never anonymous.
extension APIServer {
    func authenticate(_ headers: HTTPFields, channel: (any Channel)?, path: String) async throws(BerthError) -> UserInfo {
        guard let adminToken = configuration.adminToken else { return .admin }
        if let header = headers[.authorization] {
            let isRegistry = path.hasPrefix(RegistryRoute.prefix) || path == "/v2"
            let presented: String
            // The scheme is case-insensitive (RFC 7235): the python client sends "bearer".
            if header.count > 7, header.prefix(7).lowercased() == "bearer " {
                presented = String(header.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
            } else if isRegistry, let password = RegistryTokens.basicPassword(header) {
                // `docker login`, `podman login`, `skopeo --creds`: any username, a Berth token as password.
                presented = password
            } else {
                throw BerthError(.unauthorized, "Unauthorized")
            }
            if isRegistry, let user = try await registryTokenUser(presented) { return user }
            if Self.constantTimeEqual(presented, adminToken) { return .admin }
            for (token, user) in configuration.internalTokens where Self.constantTimeEqual(presented, token) { return user }
            if let tokenID = try await bootstrapTokenID(presented) { return .bootstrap(tokenID: tokenID) }
            if let account = try await serviceAccountUser(presented) { return account }
            logger.notice("refused a bearer token", metadata: ["path": "\(path)"])
            throw BerthError(.unauthorized, "Unauthorized")
        }
        guard let channel else { return .anonymous }
        if let known = certificateIdentities.entry(for: channel, now: clock.now()) { return try await unlessRevoked(known) }
        guard let certificate = try? await channel.nioSSL_peerCertificate().get() else { return .anonymous }
        // The TLS layer takes any certificate whose key the peer holds; the chain is checked here.
        guard let der = try? certificate.toDERBytes() else { throw BerthError(.unauthorized, "Unauthorized") }
        let now = clock.now()
        if let known = certificateIdentities.entry(for: der, now: now) {
            certificateIdentities.remember(channel, known)
            return try await unlessRevoked(known)
        }
        guard let parsed = try? Certificate(derEncoded: der) else { throw BerthError(.unauthorized, "Unauthorized") }
        guard let issuer = configuration.nodeCertificates, issuer.issued(parsed, now: now) else {
            logger.notice("refused a client certificate not issued by the cluster CA", metadata: ["subject": "\(parsed.subject)", "issuer": "\(parsed.issuer)"])
            throw BerthError(.unauthorized, "Unauthorized")
        }
        let (commonName, organizations) = NodeCertificateIssuer.identity(of: parsed.subject)
        guard let commonName, !commonName.isEmpty else {
            logger.notice("refused a client certificate without a common name", metadata: ["subject": "\(parsed.subject)"])
            throw BerthError(.unauthorized, "Unauthorized")
        }
        let user = UserInfo(name: commonName, groups: organizations + [UserInfo.authenticated])
        let entry = CertificateIdentityCache.Entry(user: user, notValidBefore: parsed.notValidBefore, notValidAfter: parsed.notValidAfter,
                                                   serial: NodeCertificateIssuer.serialText(parsed.serialNumber))
        certificateIdentities.remember(der, entry)
        certificateIdentities.remember(channel, entry)
        return try await unlessRevoked(entry)
    }

    /// A certificate whose CSR was deleted is refused (checked on every request, cached or not).
    func unlessRevoked(_ entry: CertificateIdentityCache.Entry) async throws(BerthError) -> UserInfo {
        if entry.user.nodeScope == nil, await isRevoked(serial: entry.serial) {
            logger.notice("refused a revoked client certificate", metadata: ["user": "\(entry.user.name)", "serial": "\(entry.serial)"])
            throw BerthError(.unauthorized, "Unauthorized")
        }
        return entry.user
    }
}

extension APIServer {
    /// A ServiceAccount token this cluster signed, meant for this API (its audiences name the
    /// issuer), not expired, whose ServiceAccount — and the object it is bound to — still exist
    /// with the UIDs it names: the account's user, in `system:serviceaccounts[:NS]`.
    func serviceAccountUser(_ token: String) async throws(BerthError) -> UserInfo? {
        guard token.utf8.reduce(0, { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }) == 2,
              serviceAccountTokens != nil else { return nil }
        let now = clock.now()
        guard let claims = try await serviceAccountKeys().verify(token, now: now) else { return nil }
        guard claims.expires > now, claims.notBefore <= now.addingTimeInterval(60), claims.audiences.contains(ServiceAccountTokens.issuer) else {
            logger.notice("refused a ServiceAccount token: expired or for another audience", metadata: ["account": "\(claims.namespace)/\(claims.name)"])
            return nil
        }
        func uid(_ descriptor: ResourceDescriptor, _ name: String) async -> String? {
            (try? await storage.get(descriptor, namespace: claims.namespace, name: name))?.value(at: ["metadata", "uid"])?.stringValue
        }
        guard await uid(.serviceAccount, claims.name) == claims.uid else {
            logger.notice("refused a ServiceAccount token: the account is gone", metadata: ["account": "\(claims.namespace)/\(claims.name)"])
            return nil
        }
        if let bound = claims.bound, await uid(bound.kind == "Pod" ? .pod : .secret, bound.name) != bound.uid {
            logger.notice("refused a ServiceAccount token: the object it is bound to is gone", metadata: ["object": "\(bound.kind)/\(bound.name)"])
            return nil
        }
        return UserInfo(name: ServiceAccount.userName(namespace: claims.namespace, name: claims.name), uid: claims.uid,
                        groups: ServiceAccount.groups(namespace: claims.namespace) + [UserInfo.authenticated])
    }
}
