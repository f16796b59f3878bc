import BerthCore
import BerthImages
import BerthRegistry
import BerthStore
import Foundation

/// Settings of the built-in registry (`/v2/` on the API address).
public struct RegistryConfiguration: Sendable {
    /// Blobs and upload sessions (`--registry-storage`; default DATA/registry). Servers of one
    /// control plane share it as one mounted filesystem.
    public var storageDirectory: String
    /// The largest blob one upload may hold.
    public var maximumBlobBytes: Int64 = 64 << 30
    /// How long a token from `/v2/token` is good for.
    public var tokenLifetimeSeconds = 300
    /// `HOST:PORT` where the registry is also served alone (`--registry-listen`).
    public var listen: String?
    /// How often garbage is collected (`--registry-gc-interval`); nil: only when asked.
    public var garbageCollectionInterval: Duration? = .seconds(3600)
    /// Blobs and links younger than this are kept: a push in progress has linked its blobs but
    /// not yet pushed the manifest that refers to them.
    public var garbageCollectionGrace: TimeInterval = 3600

    public init(storageDirectory: String) { self.storageDirectory = storageDirectory }
}

/// The registry's parts: bytes on the filesystem, metadata in the cluster store.
final class ImageRegistry: Sendable {
    let configuration: RegistryConfiguration
    let storage: BlobStorage
    let metadata: RegistryMetadata

    /// The `service` the token flow names.
    static let service = "berth-registry"

    init(configuration: RegistryConfiguration, kv: any KeyValueStore) throws(BerthError) {
        self.configuration = configuration
        storage = try BlobStorage(root: configuration.storageDirectory)
        metadata = RegistryMetadata(kv: kv)
    }
}
