import BerthCore
import BerthImages
import Foundation

/// Finds or fetches the image a container names, honouring `imagePullPolicy`.
struct PodImages: Sendable {
    let store: ImageStore
    let puller: (any ImagePulling)?

    /// The local image, pulling it when the policy asks or it is missing.
    func ensure(_ container: Container, pod: Pod, credentials: [RegistryCredential]) async throws(BerthError) -> LocalImage {
        let name = container.image ?? ""
        let reference: ImageReference
        do { reference = try ImageReference(parsing: name) } catch {
            throw BerthError(.invalid, "InvalidImageName: \(error.message)")
        }
        let policy = container.imagePullPolicy ?? (reference.tag == "latest" && reference.digest == nil ? "Always" : "IfNotPresent")
        let local = try? store.image(reference)
        // Locally built images (berth/busybox) have no registry to ask; use them whatever the policy.
        let isLocalOnly = reference.registry == ImageReference.defaultRegistry && reference.repository.hasPrefix("berth/")
        if let local, policy != "Always" || isLocalOnly || puller == nil { return local }
        if policy == "Never" {
            throw BerthError(.notFound, "ErrImageNeverPull: image \"\(name)\" is not present and the pull policy is Never")
        }
        guard let puller else {
            throw BerthError(.notFound, "image \"\(name)\" is not present on this node and no registry client is configured")
        }
        do {
            return try await puller.pull(reference, credentials: credentials)
        } catch {
            if let local { return local }  // registry unreachable: a cached copy still runs
            throw error
        }
    }
}

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
