import BerthCore
import Foundation
import Hummingbird

/// The Docker token flow (`GET /v2/token?service=…&scope=…`): a client that was challenged
/// (`WWW-Authenticate: Bearer realm=…`) presents its credential — Basic with any username and
/// a Berth token as password, a bearer token, a client certificate, or nothing — and gets a
/// short-lived JWT naming who it is, signed with the ServiceAccount key ring (so every server
/// of the cluster accepts it). The token carries identity only: what it may do is decided on
/// each request by RBAC, so a role change applies at once.
enum RegistryTokens {
    static let issuer = "berth-registry"

    static func payload(for user: UserInfo, now: Date, lifetime: Int) -> JSONValue {
        [
            "iss": .string(issuer), "aud": [.string(ImageRegistry.service)], "sub": .string(user.name), "uid": .string(user.uid),
            "groups": .array(user.groups.map { .string($0) }),
            "iat": .number(String(Int64(now.timeIntervalSince1970))), "nbf": .number(String(Int64(now.timeIntervalSince1970))),
            "exp": .number(String(Int64(now.timeIntervalSince1970) + Int64(lifetime))),
        ]
    }

    /// The user a verified payload names, if it is a registry token still valid at `now`.
    static func user(from payload: JSONValue, now: Date) -> UserInfo? {
        guard payload["iss"]?.stringValue == issuer, payload["aud"]?.arrayValue?.contains(.string(ImageRegistry.service)) == true,
              let name = payload["sub"]?.stringValue, let expires = payload["exp"]?.intValue,
              Date(timeIntervalSince1970: TimeInterval(expires)) > now,
              Date(timeIntervalSince1970: TimeInterval(payload["nbf"]?.intValue ?? 0)) <= now.addingTimeInterval(60) else { return nil }
        let groups = (payload["groups"]?.arrayValue ?? []).compactMap(\.stringValue)
        return UserInfo(name: name, uid: payload["uid"]?.stringValue ?? "", groups: groups)
    }

    /// The password of `Authorization: Basic …` (the username is ignored: the token says who).
    static func basicPassword(_ header: String) -> String? {
        guard header.count > 6, header.prefix(6).lowercased() == "basic ",
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":") else { return nil }
        return String(text[text.index(after: colon)...])
    }
}

extension ServiceAccountKeyRing {
    /// The payload of a JWT signed by a key not retired at `now`.
    func verifiedPayload(_ token: String, now: Date) -> JSONValue? {
        let kid = ServiceAccountTokens.keyID(of: token)
        for key in keys.reversed() where key.retireAt.map({ $0 > now }) ?? true {
            if let kid, kid != key.signer.keyID { continue }
            if let payload = key.signer.verifiedPayload(token) { return payload }
        }
        return nil
    }
}

extension APIServer {
    /// A registry token's user, or nil when the token is not one.
    func registryTokenUser(_ token: String) async throws(BerthError) -> UserInfo? {
        guard imageRegistry != nil, token.utf8.reduce(0, { $0 + ($1 == UInt8(ascii: ".") ? 1 : 0) }) == 2 else { return nil }
        let now = clock.now()
        guard let payload = try await serviceAccountKeys().verifiedPayload(token, now: now) else { return nil }
        return RegistryTokens.user(from: payload, now: now)
    }

    /// `GET /v2/token`: a token for whoever the pipeline authenticated (anonymous included: an
    /// anonymous pull of a public repository needs one too).
    func registryToken(_ request: Request, user: UserInfo) async throws(BerthError) -> Response {
        guard let registry = imageRegistry else { throw BerthError(.notFound, "no registry") }
        guard let signer = try await serviceAccountKeys().current else { throw BerthError(.unavailable, "no signing key to issue registry tokens with") }
        let now = clock.now()
        let lifetime = registry.configuration.tokenLifetimeSeconds
        let token = try signer.sign(RegistryTokens.payload(for: user, now: now, lifetime: lifetime))
        return Responses.json(["token": .string(token), "access_token": .string(token), "expires_in": .number(String(lifetime)),
                               "issued_at": .string(TableCells.formatTimestamp(now))])
    }
}
