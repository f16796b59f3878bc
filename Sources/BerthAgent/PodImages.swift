import BerthCore
import BerthImages
import Foundation

/// Finds or fetches the image a container names, honouring `imagePullPolicy`.
struct PodImages: Sendable {
    let store: ImageStore
    let puller: (any ImagePulling)?
    /// Told of every image a container asks for, so the least recently used go first.
    var collector: ImageGarbageCollector?

    /// The local image, pulling it when the policy asks or it is missing (`willPull` runs first:
    /// the kubelet's `Pulling` event).
    func ensure(_ container: Container, pod: Pod, credentials: [RegistryCredential],
                willPull: @Sendable () async -> Void = {}) async throws(BerthError) -> (image: LocalImage, pulled: Bool) {
        let name = container.image ?? ""
        let reference: ImageReference
        do { reference = try ImageReference(parsing: name) } catch {
            throw BerthError(.invalid, "InvalidImageName: \(error.message)")
        }
        collector?.touched(reference.description)
        let policy = container.imagePullPolicy ?? (reference.tag == "latest" && reference.digest == nil ? "Always" : "IfNotPresent")
        let local = try? store.image(reference)
        // Locally built images (berth/busybox) have no registry to ask; use them whatever the policy.
        let isLocalOnly = reference.registry == ImageReference.defaultRegistry && reference.repository.hasPrefix("berth/")
        if let local, policy != "Always" || isLocalOnly || puller == nil { return (local, false) }
        if policy == "Never" {
            throw BerthError(.notFound, "ErrImageNeverPull: image \"\(name)\" is not present and the pull policy is Never")
        }
        guard let puller else {
            throw BerthError(.notFound, "image \"\(name)\" is not present on this node and no registry client is configured")
        }
        await willPull()
        do {
            return (try await puller.pull(reference, credentials: credentials), true)
        } catch {
            if let local { return (local, false) }  // registry unreachable: a cached copy still runs
            throw error
        }
    }
}

