import BerthCore
@testable import BerthStore
import BerthTestSupport
import Foundation
import Testing

/// Secrets encrypted at rest: NaCl secretbox against PyNaCl's output, Kubernetes' stored
/// formats, the wrapper store over SQLite (the file holds ciphertext, the API plain objects),
/// key rotation, and refusals.
@Suite("Encryption at rest", .blockingAllowed)
struct EncryptionTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    @Test("secretbox matches NaCl (vectors made with PyNaCl 1.5: key 0…31, nonce 100…123)")
    func secretBoxVectors() {
        let key = Array(UInt8(0)...31), nonce = Array(UInt8(100)...123)
        #expect(SecretBox.seal([], nonce: nonce, key: key) == Self.hex("f49572d6194281e3c87fbb4e2106932c"))
        #expect(SecretBox.seal(Array("hello world".utf8), nonce: nonce, key: key) == Self.hex("4e2c4b1cec5d0644ad46eaab00f38bed6adcf5a55596b986c29147"))
        let long = Array(UInt8(0)..<200)
        let sealed = SecretBox.seal(long, nonce: nonce, key: key)
        #expect(sealed == Self.hex("1af2cc4bc09929b8a165f47171f2a40f02b89bca3eb3c8eeb8f4299f3b89ad172ebb2ab4f0b35d0cbe15588f1696d797884ed63b6b12bdc3dd3f3d492c3ef34af1a19c2b26b30f683bd8693fe78fa05b03ca0e2e8c790ecdf1c655b90c8ea3dc04c6df54f3aa2d55cac2d37c24bbbb999aa88b188bbc5ca06b1215e0d031fb57085ee439a35e367e38f574d8986ca8433e818f9bb34b9b8ec5aaa1b351446edaf3ba648cb9b2e48b33903de9faa5576f21de898b797475c03a49498df5154c484c1344ae4d5491adfdc29638f8e4a0ff70ac408e0b6bea13"))
        #expect(SecretBox.open(sealed, nonce: nonce, key: key) == long)
        var tampered = sealed
        tampered[40] ^= 1
        #expect(SecretBox.open(tampered, nonce: nonce, key: key) == nil)
        #expect(SecretBox.open(sealed, nonce: nonce, key: Array(repeating: 7, count: 32)) == nil)
    }

    static func configuration(_ providers: String) throws -> EncryptionConfiguration {
        let text = """
            {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
             "resources": [{"resources": ["secrets"], "providers": [\(providers)]}]}
            """
        return try EncryptionConfiguration.parse(try JSONParser.parse(Array(text.utf8))) { $0 == "secrets" ? "/registry/secrets/" : nil }
    }

    static let key1 = #"{"name": "key1", "secret": "\#(Data(repeating: 1, count: 32).base64EncodedString())"}"#
    static let key2 = #"{"name": "key2", "secret": "\#(Data(repeating: 2, count: 32).base64EncodedString())"}"#

    @Test("the store file holds Kubernetes' formats; reads are plain; rotation reads old keys and writes the first")
    func storeAndRotation() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-enc-\(UUID().uuidString).db").path
        defer { for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let raw = try SQLiteStore(path: path)
        let secret = Array(#"{"apiVersion":"v1","kind":"Secret","data":{"password":"aHVudGVyMg=="}}"#.utf8)
        let key = "/registry/secrets/default/db"

        let first = EncryptingStore(raw, configuration: try Self.configuration(#"{"aesgcm": {"keys": [\#(Self.key1)]}}, {"identity": {}}"#))
        _ = try await raw.put("/registry/secrets/default/old", secret)  // stored before encryption was on
        _ = try await first.put(key, secret)
        _ = try await first.put("/registry/configmaps/default/c", secret)
        let stored = try #require(try await raw.get(key))
        #expect(stored.value.starts(with: Array("k8s:enc:aesgcm:v1:key1:".utf8)))
        #expect(!String(decoding: stored.value, as: UTF8.self).contains("aHVudGVyMg"))
        #expect(try await first.get(key)?.value == secret)
        #expect(try await first.get("/registry/secrets/default/old")?.value == secret, "identity reads what was stored before")
        #expect(try await raw.get("/registry/configmaps/default/c")?.value == secret, "other resources are not encrypted")
        let listed = try await first.list(prefix: "/registry/secrets/")
        #expect(listed.kvs.allSatisfy { $0.value == secret })

        // Rotation: key2 first, key1 still listed: old values read, new writes use key2.
        let rotated = EncryptingStore(raw, configuration: try Self.configuration(#"{"secretbox": {"keys": [\#(Self.key2)]}}, {"aesgcm": {"keys": [\#(Self.key1)]}}"#))
        #expect(try await rotated.get(key)?.value == secret)
        _ = try await rotated.put(key, secret)
        #expect(try await raw.get(key)?.value.starts(with: Array("k8s:enc:secretbox:v1:key2:".utf8)) == true)
        #expect(try await rotated.get(key)?.value == secret)
        // Without identity, a plaintext value is an error, not a silent read.
        await #expect(throws: BerthError.self) { try await rotated.get("/registry/secrets/default/old") }
        // A ciphertext moved to another key does not decrypt (the key is authenticated).
        let moved = EncryptingStore(raw, configuration: try Self.configuration(#"{"aesgcm": {"keys": [\#(Self.key1)]}}"#))
        _ = try await moved.put(key, secret)
        _ = try await raw.put("/registry/secrets/default/other", try #require(try await raw.get(key)).value)
        await #expect(throws: BerthError.self) { try await moved.get("/registry/secrets/default/other") }
        await raw.close()
    }

    @Test("bad configurations are refused naming the field")
    func badConfigurations() {
        #expect(throws: BerthError.self) { try Self.configuration(#"{"aesgcm": {"keys": [{"name": "k", "secret": "c2hvcnQ="}]}}"#) }
        #expect(throws: BerthError.self) { try Self.configuration(#"{"kms": {}}"#) }
        #expect(throws: BerthError.self) { try Self.configuration("") }
        let error = #expect(throws: BerthError.self) { try Self.configuration(#"{"secretbox": {"keys": [{"name": "k", "secret": "!!"}]}}"#) }
        #expect(error?.message.contains("resources[0].providers[0].secretbox.keys[0].secret") == true, "\(String(describing: error))")
    }
}
