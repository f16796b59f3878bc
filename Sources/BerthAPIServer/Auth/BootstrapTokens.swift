import BerthCore
import Foundation
import Hummingbird

extension APIServer {
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
