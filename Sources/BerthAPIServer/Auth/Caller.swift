import BerthCore
import Foundation
import Hummingbird
import NIOCore
import NIOSSL
import X509

/// Who is calling: the admin (token from `admin.kubeconfig`), a node (client certificate
/// `CN=system:node:NAME, O=system:nodes` signed by the cluster CA), or a joining host holding a
/// bootstrap token (which may do nothing but join).
enum Caller: Sendable, Equatable {
    case admin
    case node(String)
    /// Simulated nodes `PREFIX-N` (`berth agent --simulate`), one certificate for all.
    case nodePool(prefix: String)
    case bootstrap(tokenID: String)
    case anonymous
}

/// The request context: Hummingbird's basic one plus the connection, to read the TLS peer
/// certificate from.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

extension APIServer {
    static let publicPaths: Set<String> = ["/version", "/healthz", "/livez", "/readyz", JoinPaths.clusterCA]

    /// Works out the caller; a credential that is presented but wrong is a 401.
    func identify(_ request: Request, channel: (any Channel)?) async throws(BerthError) -> Caller {
        guard let adminToken = configuration.adminToken else { return .admin }
        if let header = request.headers[.authorization] {
            guard header.hasPrefix("Bearer ") else { throw BerthError(.unauthorized, "Unauthorized") }
            let presented = String(header.dropFirst("Bearer ".count))
            if Self.constantTimeEqual(presented, adminToken) { return .admin }
            if let tokenID = try await bootstrapTokenID(presented) { return .bootstrap(tokenID: tokenID) }
            logger.notice("refused a bearer token", metadata: ["path": "\(request.uri.path)"])
            throw BerthError(.unauthorized, "Unauthorized")
        }
        if let channel, let known = certificateIdentities.caller(for: channel, now: clock.now()) { return known }
        if let channel, let certificate = try? await channel.nioSSL_peerCertificate().get() {
            // The TLS layer takes any certificate whose key the peer holds; the chain is checked here.
            guard let der = try? certificate.toDERBytes() else { throw BerthError(.unauthorized, "Unauthorized") }
            let now = clock.now()
            if let known = certificateIdentities.entry(for: der, now: now) {
                certificateIdentities.remember(channel, known)
                return known.caller
            }
            guard let parsed = try? Certificate(derEncoded: der) else { throw BerthError(.unauthorized, "Unauthorized") }
            guard let issuer = configuration.nodeCertificates, issuer.issued(parsed, now: now) else {
                logger.notice("refused a client certificate not issued by the cluster CA", metadata: ["subject": "\(parsed.subject)", "issuer": "\(parsed.issuer)"])
                throw BerthError(.unauthorized, "Unauthorized")
            }
            let (commonName, organizations) = NodeCertificateIssuer.identity(of: parsed.subject)
            var caller: Caller?
            if let commonName, commonName.hasPrefix(NodeCertificateIssuer.nodePrefix), organizations.contains(NodeCertificateIssuer.nodeGroup) {
                caller = .node(String(commonName.dropFirst(NodeCertificateIssuer.nodePrefix.count)))
            } else if let commonName, commonName.hasPrefix(NodeCertificateIssuer.poolPrefix), organizations.contains(NodeCertificateIssuer.nodeGroup) {
                caller = .nodePool(prefix: String(commonName.dropFirst(NodeCertificateIssuer.poolPrefix.count)))
            }
            if let caller {
                let entry = CertificateIdentityCache.Entry(caller: caller, notValidBefore: parsed.notValidBefore, notValidAfter: parsed.notValidAfter)
                certificateIdentities.remember(der, entry)
                certificateIdentities.remember(channel, entry)
                return caller
            }
            logger.notice("refused a client certificate", metadata: ["subject": "\(parsed.subject)"])
            throw BerthError(.unauthorized, "Unauthorized")
        }
        return .anonymous
    }

    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let presented = Array(lhs.utf8), expected = Array(rhs.utf8)
        // The time taken must not reveal how much of the token matched.
        var difference = UInt8(presented.count == expected.count ? 0 : 1)
        for index in 0..<min(presented.count, expected.count) { difference |= presented[index] ^ expected[index] }
        return difference == 0
    }

    /// A bootstrap token `ID.SECRET` is valid while its Secret `kube-system/bootstrap-token-ID`
    /// exists, holds the same secret, allows authentication and has not expired.
    func bootstrapTokenID(_ token: String) async throws(BerthError) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, BootstrapToken.isValidID(parts[0]), BootstrapToken.isValidSecret(parts[1]) else { return nil }
        let secret: JSONValue
        do {
            secret = try await storage.get(.secret, namespace: "kube-system", name: "bootstrap-token-" + parts[0])
        } catch where error.code == .notFound {
            return nil
        }
        func field(_ name: String) -> String? {
            secret["data"]?[name]?.stringValue.flatMap { Base64.decode($0) }.map { String(decoding: $0, as: UTF8.self) }
        }
        guard secret["type"]?.stringValue == BootstrapToken.secretType, let stored = field("token-secret"),
              Self.constantTimeEqual(stored, parts[1]), field("usage-bootstrap-authentication") == "true" else { return nil }
        if let expiration = field("expiration") {
            guard let date = TableCells.parseTimestamp(expiration), date > clock.now() else {
                logger.notice("refused an expired bootstrap token", metadata: ["token": "\(parts[0])"])
                return nil
            }
        }
        return parts[0]
    }
}

/// Kubernetes' bootstrap token format: `[a-z0-9]{6}.[a-z0-9]{16}`, stored as a Secret.
public enum BootstrapToken {
    public static let secretType = "bootstrap.kubernetes.io/token"
    static let alphabet = Set("abcdefghijklmnopqrstuvwxyz0123456789")

    public static func isValidID(_ text: String) -> Bool { text.count == 6 && text.allSatisfy(alphabet.contains) }
    public static func isValidSecret(_ text: String) -> Bool { text.count == 16 && text.allSatisfy(alphabet.contains) }

    public static func generate() -> (id: String, secret: String) {
        let characters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        func random(_ count: Int) -> String { String((0..<count).map { _ in characters.randomElement(using: &generator)! }) }
        return (random(6), random(16))
    }
}
