import BerthCore
import Crypto
import Foundation

/// `apiserver.config.k8s.io/v1` EncryptionConfiguration (`--encryption-provider-config`): for
/// each group of resources, providers in order. The first provider encrypts what is written;
/// every provider listed may decrypt what is read, so keys rotate as in Kubernetes: add the new
/// key first, restart, rewrite the objects (`kubectl get secrets -A -o json | kubectl replace
/// -f -`), then drop the old key.
public struct EncryptionConfiguration: Sendable {
    public enum Provider: Sendable {
        case aesgcm(keys: [(name: String, key: SymmetricKey)])
        case secretbox(keys: [(name: String, key: [UInt8])])
        case identity

        var name: String {
            switch self {
            case .aesgcm: "aesgcm"
            case .secretbox: "secretbox"
            case .identity: "identity"
            }
        }
    }

    public struct Rule: Sendable {
        /// Store key prefixes (`/registry/secrets/`).
        public let prefixes: [String]
        public let providers: [Provider]
    }

    public let rules: [Rule]

    /// Whether values at this store key are encrypted (by any provider but identity first).
    public func encrypts(key: String) -> Bool {
        guard let first = rule(for: key)?.providers.first else { return false }
        if case .identity = first { return false }
        return true
    }

    /// The rule for a store key: the first whose prefixes hold it.
    func rule(for key: String) -> Rule? { rules.first { rule in rule.prefixes.contains { key.hasPrefix($0) } } }

    /// Reads the configuration (already turned from YAML into JSON); `prefix` maps a resource
    /// (`secrets`, `configmaps`, `deployments.apps`) to its store prefix.
    public static func parse(_ document: JSONValue, prefix: (String) -> String?) throws(BerthError) -> EncryptionConfiguration {
        func invalid(_ field: String, _ detail: String) -> BerthError {
            BerthError(.badRequest, "encryption provider configuration: \(field): \(detail)")
        }
        guard document["kind"]?.stringValue == "EncryptionConfiguration",
              ["apiserver.config.k8s.io/v1", "apiserver.config.k8s.io/v1beta1"].contains(document["apiVersion"]?.stringValue ?? "") else {
            throw invalid("kind", "must be EncryptionConfiguration of apiserver.config.k8s.io/v1")
        }
        var rules: [Rule] = []
        for (index, entry) in (document["resources"]?.arrayValue ?? []).enumerated() {
            let path = "resources[\(index)]"
            var prefixes: [String] = []
            for resource in entry["resources"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                guard let found = prefix(resource) else { throw invalid("\(path).resources", "unknown resource \"\(resource)\"") }
                prefixes.append(found)
            }
            if prefixes.isEmpty { throw invalid("\(path).resources", "must name at least one resource") }
            var providers: [Provider] = []
            for (number, provider) in (entry["providers"]?.arrayValue ?? []).enumerated() {
                let field = "\(path).providers[\(number)]"
                if provider["identity"] != nil {
                    providers.append(.identity)
                } else if let body = provider["aesgcm"] {
                    var keys: [(name: String, key: SymmetricKey)] = []
                    for (name, secret) in try Self.keys(body, field: field + ".aesgcm", invalid: invalid) {
                        guard [16, 24, 32].contains(secret.count) else { throw invalid("\(field).aesgcm.keys", "key \(name) must be 16, 24 or 32 bytes") }
                        keys.append((name, SymmetricKey(data: secret)))
                    }
                    providers.append(.aesgcm(keys: keys))
                } else if let body = provider["secretbox"] {
                    var keys: [(name: String, key: [UInt8])] = []
                    for (name, secret) in try Self.keys(body, field: field + ".secretbox", invalid: invalid) {
                        guard secret.count == SecretBox.keySize else { throw invalid("\(field).secretbox.keys", "key \(name) must be 32 bytes") }
                        keys.append((name, secret))
                    }
                    providers.append(.secretbox(keys: keys))
                } else {
                    throw invalid(field, "supported providers are aesgcm, secretbox and identity")
                }
            }
            if providers.isEmpty { throw invalid("\(path).providers", "must name at least one provider") }
            rules.append(Rule(prefixes: prefixes, providers: providers))
        }
        return EncryptionConfiguration(rules: rules)
    }

    static func keys(_ body: JSONValue, field: String, invalid: (String, String) -> BerthError) throws(BerthError) -> [(String, [UInt8])] {
        var keys: [(String, [UInt8])] = []
        for (index, key) in (body["keys"]?.arrayValue ?? []).enumerated() {
            guard let name = key["name"]?.stringValue, !name.isEmpty, !name.contains(":") else { throw invalid("\(field).keys[\(index)].name", "required, without ':'") }
            guard let text = key["secret"]?.stringValue, let secret = Data(base64Encoded: text) else {
                throw invalid("\(field).keys[\(index)].secret", "must be base64")
            }
            keys.append((name, Array(secret)))
        }
        if keys.isEmpty { throw invalid("\(field).keys", "must hold at least one key") }
        return keys
    }
}

/// Encrypts and decrypts stored values in Kubernetes' formats:
/// `k8s:enc:aesgcm:v1:NAME:` + 12-byte nonce + ciphertext and tag (the store key as associated
/// data), `k8s:enc:secretbox:v1:NAME:` + 24-byte nonce + box; `identity` stores the value as is.
struct ValueCipher: Sendable {
    let configuration: EncryptionConfiguration

    func encrypt(_ value: [UInt8], key: String) throws(BerthError) -> [UInt8] {
        guard let provider = configuration.rule(for: key)?.providers.first else { return value }
        switch provider {
        case .identity:
            return value
        case .aesgcm(let keys):
            do {
                let sealed = try AES.GCM.seal(value, using: keys[0].key, nonce: AES.GCM.Nonce(), authenticating: Array(key.utf8))
                return Array("k8s:enc:aesgcm:v1:\(keys[0].name):".utf8) + Array(sealed.nonce) + Array(sealed.ciphertext) + Array(sealed.tag)
            } catch {
                throw BerthError(.internalError, "cannot encrypt \(key): \(error)")
            }
        case .secretbox(let keys):
            var nonce = [UInt8](repeating: 0, count: SecretBox.nonceSize)
            for index in nonce.indices { nonce[index] = UInt8.random(in: 0...255) }
            return Array("k8s:enc:secretbox:v1:\(keys[0].name):".utf8) + nonce + SecretBox.seal(value, nonce: nonce, key: keys[0].key)
        }
    }

    static let marker = Array("k8s:enc:".utf8)

    func decrypt(_ value: [UInt8], key: String) throws(BerthError) -> [UInt8] {
        guard let rule = configuration.rule(for: key) else { return value }
        guard value.starts(with: Self.marker) else {
            if rule.providers.contains(where: { if case .identity = $0 { true } else { false } }) { return value }
            throw BerthError(.internalError, "\(key) is stored unencrypted and no identity provider is configured to read it")
        }
        // k8s:enc:PROVIDER:v1:NAME:DATA
        var fields: [[UInt8]] = []
        var start = 0
        for index in value.indices where value[index] == UInt8(ascii: ":") && fields.count < 5 {
            fields.append(Array(value[start..<index]))
            start = index + 1
        }
        guard fields.count == 5 else { throw BerthError(.internalError, "\(key): malformed encrypted value") }
        let provider = String(decoding: fields[2], as: UTF8.self), name = String(decoding: fields[4], as: UTF8.self)
        let data = Array(value[start...])
        for candidate in rule.providers {
            switch candidate {
            case .aesgcm(let keys) where provider == "aesgcm":
                guard let match = keys.first(where: { $0.name == name }), data.count >= 28 else { continue }
                do {
                    let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: data[0..<12]), ciphertext: data[12..<(data.count - 16)], tag: data[(data.count - 16)...])
                    return Array(try AES.GCM.open(box, using: match.key, authenticating: Array(key.utf8)))
                } catch {
                    throw BerthError(.internalError, "\(key): cannot decrypt with aesgcm key \(name)")
                }
            case .secretbox(let keys) where provider == "secretbox":
                guard let match = keys.first(where: { $0.name == name }), data.count >= SecretBox.nonceSize + SecretBox.tagSize else { continue }
                guard let opened = SecretBox.open(Array(data[SecretBox.nonceSize...]), nonce: Array(data[0..<SecretBox.nonceSize]), key: match.key) else {
                    throw BerthError(.internalError, "\(key): cannot decrypt with secretbox key \(name)")
                }
                return opened
            default:
                continue
            }
        }
        throw BerthError(.internalError, "\(key) is encrypted with \(provider) key \(name), which the encryption configuration does not hold")
    }
}
