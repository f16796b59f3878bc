import BerthCore
import BerthStore
import Crypto
import Foundation
import Hummingbird
import Synchronization

/// The keys ServiceAccount tokens are signed with, kept in the store
/// (`/registry/_keys/serviceaccount-signing/`), so every server of the cluster issues and checks
/// the same tokens, and rotated without a restart: the newest key signs; older keys keep
/// verifying until their `retireAt`, then tokens signed with them are refused (401). The first
/// key is the cluster CA's own, so tokens issued before keys were stored stay good.
struct ServiceAccountKeyRing: Sendable {
    struct Key: Sendable {
        let sequence: Int
        let signer: ServiceAccountTokens
        let retireAt: Date?
    }

    let keys: [Key]

    /// The key that signs: the newest one not retired.
    var current: ServiceAccountTokens? { keys.last { $0.retireAt == nil }?.signer }

    /// The claims of a token signed by a key that is not retired at `now`, or nil.
    func verify(_ token: String, now: Date) -> ServiceAccountTokens.Claims? {
        let kid = ServiceAccountTokens.keyID(of: token)
        for key in keys.reversed() where key.retireAt.map({ $0 > now }) ?? true {
            if let kid, kid != key.signer.keyID { continue }
            if let claims = key.signer.verify(token) { return claims }
        }
        return nil
    }

    static let prefix = "/registry/_keys/serviceaccount-signing/"

    static func record(_ key: P256.Signing.PrivateKey, created: String, retireAt: String?) -> [UInt8] {
        var value: JSONValue = ["key": .string(key.pemRepresentation), "created": .string(created)]
        if let retireAt { value["retireAt"] = .string(retireAt) }
        return JSONWriter.bytes(value)
    }

    static func parse(_ kvs: [KeyValue]) -> ServiceAccountKeyRing {
        var keys: [Key] = []
        for kv in kvs {
            guard let sequence = Int(kv.key.dropFirst(prefix.count)), let value = try? JSONParser.parse(kv.value),
                  let pem = value["key"]?.stringValue, let key = try? P256.Signing.PrivateKey(pemRepresentation: pem) else { continue }
            keys.append(Key(sequence: sequence, signer: ServiceAccountTokens(key: key),
                            retireAt: value["retireAt"]?.stringValue.flatMap { TableCells.parseTimestamp($0) }))
        }
        return ServiceAccountKeyRing(keys: keys.sorted { $0.sequence < $1.sequence })
    }

    static func key(_ sequence: Int) -> String { prefix + String(format: "%010d", sequence) }
}

extension ServiceAccountTokens {
    /// The `kid` a token's header names, if any.
    static func keyID(of token: String) -> String? {
        guard let header = token.split(separator: ".").first, let bytes = decodeBase64URL(String(header)),
              let value = try? JSONParser.parse(bytes) else { return nil }
        return value["kid"]?.stringValue
    }
}

extension APIServer {
    /// The key ring, from the mirror when it answers, else the store.
    func serviceAccountKeys() async throws(BerthError) -> ServiceAccountKeyRing {
        if let values = admissionMirror.values(under: ServiceAccountKeyRing.prefix) { return ServiceAccountKeyRing.parse(values) }
        return ServiceAccountKeyRing.parse(try await storage.kv.list(prefix: ServiceAccountKeyRing.prefix).kvs)
    }

    /// At bootstrap: the cluster CA's key becomes the first signing key when none is stored.
    func storeFirstSigningKey() async throws(BerthError) {
        guard let tokens = serviceAccountTokens, try await storage.kv.list(prefix: ServiceAccountKeyRing.prefix, limit: 1).kvs.isEmpty else { return }
        let key = ServiceAccountKeyRing.key(1)
        _ = try await storage.kv.txn(if: [.absent(key)],
                                     then: [.put(key: key, value: ServiceAccountKeyRing.record(tokens.key, created: clock.timestamp(), retireAt: nil))],
                                     else: [])
    }

    /// `POST /berth/v1/serviceaccount-signing-keys/rotate?retireAfter=SECONDS`
    /// (`berth token rotate-signing-key`): a new signing key; every older key retires
    /// `retireAfter` seconds from now (sooner if it was due sooner); keys retired over a day ago are
    /// dropped. Answers the ring as it now is.
    func rotateSigningKey(_ request: Request) async throws(BerthError) -> Response {
        guard request.method == .post else { throw BerthError(.methodNotAllowed, "POST rotates the signing key") }
        let query = QueryParameters(request.uri.query)
        let retireAfter = try query.integer("retireAfter") ?? 7 * 24 * 3600
        guard retireAfter >= 0 else { throw BerthError(.badRequest, "retireAfter must not be negative") }
        for _ in 0..<8 {
            let stored = try await storage.kv.list(prefix: ServiceAccountKeyRing.prefix)
            let now = clock.now()
            let retireAt = now.addingTimeInterval(TimeInterval(retireAfter))
            var compares: [Compare] = []
            var operations: [BerthStore.Operation] = []
            var next = 1
            for kv in stored.kvs {
                guard let sequence = Int(kv.key.dropFirst(ServiceAccountKeyRing.prefix.count)), var value = try? JSONParser.parse(kv.value) else { continue }
                next = max(next, sequence + 1)
                compares.append(.unchanged(kv.key, since: kv.modRevision))
                let due = value["retireAt"]?.stringValue.flatMap { TableCells.parseTimestamp($0) }
                if let due, due < now.addingTimeInterval(-24 * 3600) {
                    operations.append(.delete(key: kv.key))
                    continue
                }
                if due == nil || due! > retireAt {
                    value["retireAt"] = .string(TableCells.formatTimestamp(retireAt))
                    operations.append(.put(key: kv.key, value: JSONWriter.bytes(value)))
                }
            }
            let fresh = ServiceAccountKeyRing.key(next)
            compares.append(.absent(fresh))
            operations.append(.put(key: fresh, value: ServiceAccountKeyRing.record(P256.Signing.PrivateKey(), created: clock.timestamp(), retireAt: nil)))
            guard try await storage.kv.txn(if: compares, then: operations, else: []).succeeded else { continue }
            let ring = ServiceAccountKeyRing.parse(try await storage.kv.list(prefix: ServiceAccountKeyRing.prefix).kvs)
            let keys: [JSONValue] = ring.keys.map { key in
                var entry: JSONValue = ["kid": .string(key.signer.keyID)]
                if let retireAt = key.retireAt { entry["retireAt"] = .string(TableCells.formatTimestamp(retireAt)) }
                return entry
            }
            return Responses.json(["current": .string(ring.current?.keyID ?? ""), "keys": .array(keys)])
        }
        throw BerthError(.conflict, "the signing keys changed while rotating; try again")
    }
}
