import BerthCore

// OCI image-spec v1.1 documents (and Docker schema 2, which has the same shape under other media
// types). Decoding tolerates missing optional fields, as registries in the wild omit them.

public enum MediaType {
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    public static func isIndex(_ type: String?) -> Bool { type == ociIndex || type == dockerManifestList }
    public static func isManifest(_ type: String?) -> Bool { type == ociManifest || type == dockerManifest }
}

public struct Platform: Codable, Sendable, Hashable {
    public var architecture: String
    public var os: String
    public var variant: String?

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    /// The platform of this host as OCI names it.
    public static var host: Platform {
        #if arch(arm64)
        Platform(architecture: "arm64", os: "linux")
        #else
        Platform(architecture: "amd64", os: "linux")
        #endif
    }
}

public struct Descriptor: Codable, Sendable, Hashable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?

    public init(mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil, platform: Platform? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }
}

public struct ImageManifest: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var annotations: [String: String]?

    public init(mediaType: String = MediaType.ociManifest, config: Descriptor, layers: [Descriptor]) {
        schemaVersion = 2
        self.mediaType = mediaType
        self.config = config
        self.layers = layers
    }
}

public struct ImageIndex: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(manifests: [Descriptor]) {
        schemaVersion = 2
        mediaType = MediaType.ociIndex
        self.manifests = manifests
    }

    /// The manifest for `platform`, as a runtime picks one from a multi-platform index.
    public func manifest(for platform: Platform) -> Descriptor? {
        manifests.first { $0.platform?.os == platform.os && $0.platform?.architecture == platform.architecture }
    }
}

/// The image configuration: what a container runs by default.
public struct ImageConfiguration: Codable, Sendable, Hashable {
    public var architecture: String?
    public var os: String?
    public var created: String?
    public var config: RunConfiguration?
    public var rootfs: RootFS?
    public var history: [JSONValue]?

    public init(architecture: String, os: String, config: RunConfiguration, diffIDs: [Digest], created: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = RootFS(type: "layers", diff_ids: diffIDs)
        self.created = created
    }

    public struct RunConfiguration: Codable, Sendable, Hashable {
        public var User: String?
        public var Env: [String]?
        public var Entrypoint: [String]?
        public var Cmd: [String]?
        public var WorkingDir: String?
        public var ExposedPorts: [String: JSONValue]?
        public var Labels: [String: String]?
        public var StopSignal: String?

        public init(Env: [String]? = nil, Entrypoint: [String]? = nil, Cmd: [String]? = nil, WorkingDir: String? = nil) {
            self.Env = Env
            self.Entrypoint = Entrypoint
            self.Cmd = Cmd
            self.WorkingDir = WorkingDir
        }
    }

    public struct RootFS: Codable, Sendable, Hashable {
        public var type: String
        public var diff_ids: [Digest]
    }
}
