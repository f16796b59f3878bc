import AsyncHTTPClient
import BerthCore
import Foundation

/// A `WWW-Authenticate` challenge: `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`
/// (the Docker token specification).
struct AuthChallenge: Equatable {
    var scheme: String
    var parameters: [String: String]

    init?(header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else {
            guard !trimmed.isEmpty else { return nil }
            scheme = trimmed.lowercased()
            parameters = [:]
            return
        }
        scheme = trimmed[..<space].lowercased()
        parameters = Self.parameters(String(trimmed[trimmed.index(after: space)...]))
    }

    /// `key="value", key2=value2` with commas allowed inside quotes (scopes contain them).
    static func parameters(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        var key = ""
        var value = ""
        var inKey = true
        var quoted = false
        func flush() {
            let name = key.trimmingCharacters(in: .whitespaces).lowercased()
            if !name.isEmpty { result[name] = value }
            key = ""
            value = ""
            inKey = true
        }
        for character in text {
            if inKey {
                if character == "=" { inKey = false } else if character != "," { key.append(character) }
            } else if character == "\"" {
                quoted.toggle()
            } else if character == "," && !quoted {
                flush()
            } else {
                value.append(character)
            }
        }
        flush()
        return result
    }
}

/// Credentials for one registry, and the bearer tokens obtained with them.
actor RegistryAuthenticator {
    let credential: RegistryCredential?
    private var tokens: [String: String] = [:]
    private var basic = false

    init(credential: RegistryCredential?) { self.credential = credential }

    /// The Authorization header for a scope, if one is known.
    func header(scope: String) -> String? {
        if let token = tokens[scope] { return "Bearer \(token)" }
        if basic, let credential { return Self.basicHeader(credential) }
        return nil
    }

    /// Answers a challenge: remembers Basic, or fetches a bearer token from the realm.
    func respond(to challenge: AuthChallenge, scope: String, fetch: @Sendable (URL, String?) async throws(BerthError) -> (Int, [UInt8])) async throws(BerthError) {
        switch challenge.scheme {
        case "basic":
            guard credential != nil else { throw BerthError(.unauthorized, "the registry requires a username and password (imagePullSecrets)") }
            basic = true
        case "bearer":
            guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm) else {
                throw BerthError(.badRequest, "registry sent a bearer challenge without a realm")
            }
            var items = components.queryItems ?? []
            if let service = challenge.parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
            items.append(URLQueryItem(name: "scope", value: challenge.parameters["scope"] ?? scope))
            components.queryItems = items
            guard let url = components.url else { throw BerthError(.badRequest, "invalid token realm \(realm)") }
            let (status, body) = try await fetch(url, credential.map(Self.basicHeader))
            guard status == 200 else {
                throw BerthError(.unauthorized, "the registry's token service refused access to \(scope) (HTTP \(status))")
            }
            guard let json = try? JSONParser.parse(body), let token = json["token"]?.stringValue ?? json["access_token"]?.stringValue else {
                throw BerthError(.badRequest, "the registry's token service answered without a token")
            }
            tokens[scope] = token
        default:
            throw BerthError(.badRequest, "unsupported registry authentication scheme \"\(challenge.scheme)\"")
        }
    }

    static func basicHeader(_ credential: RegistryCredential) -> String {
        "Basic " + Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()
    }
}

extension RegistryAuthenticator {
    /// Answers a challenge, fetching a bearer token from its realm over `http` when it asks for one.
    func respond(to challenge: AuthChallenge, scope: String, over http: HTTPClient) async throws(BerthError) {
        try await respond(to: challenge, scope: scope) { (url, authorization) throws(BerthError) in
            var request = HTTPClientRequest(url: url.absoluteString)
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            do {
                let reply = try await http.execute(request, timeout: .seconds(30))
                return (Int(reply.status.code), Array(try await reply.body.collect(upTo: 1 << 20).readableBytesView))
            } catch {
                throw BerthError(.unavailable, "token service: " + RegistryReachability.describe(error, registry: url.host ?? url.absoluteString))
            }
        }
    }
}
