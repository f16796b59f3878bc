import BerthCore

/// Credentials for one registry host, from a `kubernetes.io/dockerconfigjson` secret.
public struct RegistryCredential: Sendable, Hashable {
    public var registry: String
    public var username: String
    public var password: String

    public init(registry: String, username: String, password: String) {
        self.registry = registry
        self.username = username
        self.password = password
    }
}

/// Pulls an image from its registry into the local store.
public protocol ImagePulling: Sendable {
    func pull(_ reference: ImageReference, credentials: [RegistryCredential]) async throws(BerthError) -> LocalImage
}
