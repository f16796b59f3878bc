import BerthCore
import BerthImages
import BerthRegistry
import HTTPTypes
import Hummingbird
import NIOCore

/// `/v2/NAME/manifests/REFERENCE` (a tag or a digest): pushed after the blobs they name, whose
/// presence in the repository is checked; stored as blobs of the content store (by digest) with
/// a record and tag in the cluster store, one transaction.
extension APIServer {
    func getManifest(_ request: Request, _ repository: RepositoryName, _ reference: String, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        var found = try? await storedManifest(repository, reference, registry)
        // An edge cache: a miss in a repository a pull-through replication serves is fetched now.
        if found == nil, try await pullThrough(repository, reference, registry) { found = try? await storedManifest(repository, reference, registry) }
        guard let (digest, record) = found else { throw BerthError.oci(.manifestUnknown, "manifest \(reference) not found in \(repository)") }
        var fields = RegistryResponses.headers([.contentType: record.mediaType, .eTag: "\"\(digest)\""])
        fields[RegistryResponses.contentDigest] = digest.description
        fields[.contentLength] = String(record.size)
        if request.method == .head { return Response(status: .ok, headers: fields, body: ResponseBody()) }
        let bytes = try registry.storage.content.read(digest, limit: ManifestDocument.maximumBytes)
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func storedManifest(_ repository: RepositoryName, _ reference: String, _ registry: ImageRegistry) async throws(BerthError) -> (Digest, ManifestRecord) {
        let digest = try await resolve(reference, in: repository, registry)
        guard let record = try await registry.metadata.manifest(digest, in: repository) else {
            throw BerthError.oci(.manifestUnknown, "manifest \(reference) not found in \(repository)")
        }
        return (digest, record)
    }

    /// Fetches `repository:reference` from the remote of a pull replication with `pullThrough`
    /// that selects it; false when none does or the remote lacks it.
    func pullThrough(_ repository: RepositoryName, _ reference: String, _ registry: ImageRegistry) async throws(BerthError) -> Bool {
        for replication in try await registryReplications() where replication.spec.mode == "pull" && replication.spec.pullThrough == true
            && ReplicationPlan.selected(repository.value, by: replication.spec.repositories)
            && (reference.contains(":") || ReplicationPlan.selected(reference, by: replication.spec.tags)) {
            let remote = try await remoteRegistry(for: replication.spec.remote)
            defer { Task { await remote.shutdown() } }
            let copy = ReplicationCopy(server: self, registry: registry, remote: remote)
            do throws(BerthError) {
                _ = try await copy.pull(repository, reference: reference, tally: ReplicationCopy.Tally())
                return true
            } catch where error.code == .notFound {
                continue
            }
        }
        return false
    }

    func resolve(_ reference: String, in repository: RepositoryName, _ registry: ImageRegistry) async throws(BerthError) -> Digest {
        if reference.contains(":") { return try Self.parseDigest(reference) }
        guard let tag = try await registry.metadata.tag(reference, in: repository) else {
            throw BerthError.oci(.manifestUnknown, "manifest \(reference) not found in \(repository)")
        }
        return tag.digest
    }

    func putManifest(_ request: inout Request, _ repository: RepositoryName, _ reference: String, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        let buffer = try await BodyReader.collect(&request, upTo: ManifestDocument.maximumBytes)
        let bytes = Array(buffer.readableBytesView)
        let document = try ManifestDocument(bytes: bytes, contentType: request.headers[.contentType])
        let digest = Digest.sha256(of: bytes)
        var tag: String?
        if reference.contains(":") {
            let named = try Self.parseDigest(reference)
            guard named == digest else { throw BerthError.oci(.digestInvalid, "the manifest's digest is \(digest), not \(named)") }
        } else {
            tag = reference
        }
        for blob in document.blobs {
            guard let link = try await registry.metadata.link(blob.digest, in: repository), registry.storage.content.contains(blob.digest) else {
                throw BerthError.oci(.manifestBlobUnknown, "blob \(blob.digest) is not in \(repository): push it before the manifest")
            }
            guard link.size == blob.size else {
                throw BerthError.oci(.manifestInvalid, "blob \(blob.digest) is \(link.size) bytes, the manifest says \(blob.size)")
            }
        }
        for child in document.manifests where try await registry.metadata.manifest(child.digest, in: repository) == nil {
            throw BerthError.oci(.manifestBlobUnknown, "manifest \(child.digest) is not in \(repository): push it before the index")
        }
        try registry.storage.content.write(bytes, expected: digest)
        let record = ManifestRecord(document: document, size: Int64(bytes.count), created: clock.timestamp())
        try await registry.metadata.put(record, digest: digest, tag: tag, in: repository)
        var fields: HTTPFields = [.location: "/v2/\(repository)/manifests/\(digest)"]
        fields[RegistryResponses.contentDigest] = digest.description
        if let subject = document.subject { fields[RegistryResponses.ociSubject] = subject.digest.description }
        return RegistryResponses.empty(.created, fields)
    }

    /// A tag deletes the tag; a digest deletes the manifest with every tag naming it.
    func deleteManifest(_ repository: RepositoryName, _ reference: String, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        let found = reference.contains(":")
            ? try await registry.metadata.deleteManifest(try Self.parseDigest(reference), in: repository)
            : try await registry.metadata.deleteTag(reference, in: repository)
        guard found else { throw BerthError.oci(.manifestUnknown, "manifest \(reference) not found in \(repository)") }
        return RegistryResponses.empty(.accepted)
    }
}
