import BerthCore
import BerthImages

/// What the cluster store holds about one manifest in one repository: enough to serve it
/// (media type, size), to check and collect what it refers to, and to list it as a referrer.
public struct ManifestRecord: Codable, Sendable, Equatable {
    public var mediaType: String
    public var size: Int64
    /// Config and layers (a manifest) — blobs the garbage collector keeps.
    public var blobs: [Digest]
    /// An index's entries — manifests it keeps.
    public var manifests: [Digest]
    public var subject: Digest?
    public var artifactType: String?
    public var annotations: [String: String]?
    /// When it was pushed (RFC 3339), for retention policies.
    public var created: String

    public init(document: ManifestDocument, size: Int64, created: String) {
        mediaType = document.mediaType
        self.size = size
        blobs = document.blobs.map(\.digest)
        manifests = document.manifests.map(\.digest)
        subject = document.subject?.digest
        artifactType = document.artifactType
        annotations = document.annotations
        self.created = created
    }

    /// This manifest as an entry of its subject's referrers list.
    public func referrerDescriptor(_ digest: Digest) -> JSONValue {
        var entry: JSONValue = ["mediaType": .string(mediaType), "digest": .string(digest.description), "size": .number(String(size))]
        if let artifactType { entry["artifactType"] = .string(artifactType) }
        if let annotations, !annotations.isEmpty { entry["annotations"] = .object(annotations.mapValues { .string($0) }) }
        return entry
    }
}

/// A tag: the manifest it names.
public struct TagRecord: Codable, Sendable, Equatable {
    public var digest: Digest
    public var mediaType: String
    public var updated: String

    public init(digest: Digest, mediaType: String, updated: String) {
        self.digest = digest
        self.mediaType = mediaType
        self.updated = updated
    }
}

/// A blob made part of a repository (by an upload or a mount): pulls through that repository
/// may read it, and its namespace is charged its size.
public struct BlobLink: Codable, Sendable, Equatable {
    public var size: Int64
    public var linked: String

    public init(size: Int64, linked: String) {
        self.size = size
        self.linked = linked
    }
}

/// An upload in progress: the repository it was started for and when. Its bytes are the
/// session's file (`BlobStorage`); the offset is that file's size, so every server agrees.
public struct UploadRecord: Codable, Sendable, Equatable {
    public var repository: String
    public var started: String

    public init(repository: String, started: String) {
        self.repository = repository
        self.started = started
    }
}

/// The raw keys of the registry's metadata, under `/registry/_oci/` (DESIGN.md §9). Repository
/// names never hold a component starting with `_`, so `REPO/_tags/…` cannot collide with a
/// longer repository's keys.
public enum RegistryKeys {
    public static let root = "/registry/_oci/"
    static let repositories = root + "repositories/"
    static let uploads = root + "uploads/"
    public static let repos = root + "repos/"

    static func repository(_ repository: RepositoryName) -> String { repositories + repository.value }
    static func repo(_ repository: RepositoryName) -> String { repos + repository.value + "/" }
    static func tags(_ repository: RepositoryName) -> String { repo(repository) + "_tags/" }
    static func tag(_ repository: RepositoryName, _ tag: String) -> String { tags(repository) + tag }
    static func manifests(_ repository: RepositoryName) -> String { repo(repository) + "_manifests/" }
    static func manifest(_ repository: RepositoryName, _ digest: Digest) -> String { manifests(repository) + digest.description }
    static func blobs(_ repository: RepositoryName) -> String { repo(repository) + "_blobs/" }
    static func blob(_ repository: RepositoryName, _ digest: Digest) -> String { blobs(repository) + digest.description }
    static func referrers(_ repository: RepositoryName, _ subject: Digest) -> String { repo(repository) + "_referrers/" + subject.description + "/" }
    static func referrer(_ repository: RepositoryName, _ subject: Digest, _ digest: Digest) -> String { referrers(repository, subject) + digest.description }
    static func upload(_ id: String) -> String { uploads + id }
    /// A blob counted once in a namespace's storage (`registry.berth.dev/storage`), however many
    /// of its repositories hold it.
    static func usage(_ namespace: String) -> String { root + "usage/" + namespace + "/" }
    public static func usage(_ namespace: String, _ digest: Digest) -> String { usage(namespace) + digest.description }
}
