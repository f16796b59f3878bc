import BerthCore
import BerthImages
import BerthStore
import Foundation

/// The registry's metadata in the cluster store (tags, manifests and what they refer to, blob
/// links, upload sessions), so every server of a control plane sees one registry. A manifest
/// push is one transaction: its record, its tag, its referrer entry and the repository appear
/// together or not at all.
public struct RegistryMetadata: Sendable {
    public let kv: any KeyValueStore

    public init(kv: any KeyValueStore) { self.kv = kv }

    func decode<T: Decodable>(_ type: T.Type, _ kv: KeyValue?) -> T? {
        guard let kv else { return nil }
        return try? JSONCoding.decode(type, from: Data(kv.value))
    }

    func encode(_ value: some Encodable) throws(BerthError) -> [UInt8] { Array(try JSONCoding.encode(value)) }

    // MARK: blobs

    /// Links a blob into a repository. The first link of a digest in a namespace also counts
    /// its size there: that write goes with `charges` (quotas raised by the size, each only if
    /// unchanged since read) in one transaction. Returns false when a condition failed (the
    /// caller reads again and retries).
    public func link(_ digest: Digest, size: Int64, into repository: RepositoryName, at time: String,
                     charges: (([Compare], [BerthStore.Operation]))? = nil) async throws(BerthError) -> Bool {
        let link = BerthStore.Operation.put(key: RegistryKeys.blob(repository, digest), value: try encode(BlobLink(size: size, linked: time)), lease: 0)
        let usageKey = RegistryKeys.usage(repository.namespace, digest)
        if try await kv.get(usageKey) != nil {
            return try await kv.txn(if: [Compare(key: usageKey, .createRevision(0), .greater)], then: [link], else: []).succeeded
        }
        let compares = [Compare.absent(usageKey)] + (charges?.0 ?? [])
        let operations = [link, .put(key: usageKey, value: Array(String(size).utf8), lease: 0)] + (charges?.1 ?? [])
        return try await kv.txn(if: compares, then: operations, else: []).succeeded
    }

    /// Whether the namespace already counts this blob.
    public func isCounted(_ digest: Digest, in namespace: String) async throws(BerthError) -> Bool {
        try await kv.get(RegistryKeys.usage(namespace, digest)) != nil
    }

    /// Bytes of blobs held in a namespace's repositories, each blob once.
    public func usage(of namespace: String) async throws(BerthError) -> Int64 {
        try await kv.list(prefix: RegistryKeys.usage(namespace)).kvs.reduce(0) { $0 + (Int64(String(decoding: $1.value, as: UTF8.self)) ?? 0) }
    }

    public func link(_ digest: Digest, in repository: RepositoryName) async throws(BerthError) -> BlobLink? {
        decode(BlobLink.self, try await kv.get(RegistryKeys.blob(repository, digest)))
    }

    /// Removes a blob from a repository; false when it was not there.
    public func unlink(_ digest: Digest, from repository: RepositoryName) async throws(BerthError) -> Bool {
        let result = try await kv.txn(if: [], then: [.delete(key: RegistryKeys.blob(repository, digest))], else: [])
        if case .delete(let deleted) = result.results.first { return !deleted.isEmpty }
        return false
    }

    // MARK: manifests and tags

    public func manifest(_ digest: Digest, in repository: RepositoryName) async throws(BerthError) -> ManifestRecord? {
        decode(ManifestRecord.self, try await kv.get(RegistryKeys.manifest(repository, digest)))
    }

    public func tag(_ tag: String, in repository: RepositoryName) async throws(BerthError) -> TagRecord? {
        decode(TagRecord.self, try await kv.get(RegistryKeys.tag(repository, tag)))
    }

    /// Stores a manifest (and points `tag` at it) in one transaction.
    public func put(_ record: ManifestRecord, digest: Digest, tag: String?, in repository: RepositoryName) async throws(BerthError) {
        var operations: [BerthStore.Operation] = [
            .put(key: RegistryKeys.manifest(repository, digest), value: try encode(record), lease: 0),
            .put(key: RegistryKeys.repository(repository), value: Array("{}".utf8), lease: 0),
        ]
        if let tag {
            operations.append(.put(key: RegistryKeys.tag(repository, tag), value: try encode(TagRecord(digest: digest, mediaType: record.mediaType, updated: record.created)), lease: 0))
        }
        if let subject = record.subject {
            operations.append(.put(key: RegistryKeys.referrer(repository, subject, digest), value: JSONWriter.bytes(record.referrerDescriptor(digest)), lease: 0))
        }
        _ = try await kv.txn(if: [], then: operations, else: [])
    }

    /// Tags in lexical order, at most `limit` after `last` (the `n`/`last` paging of the
    /// specification); `more` says whether more follow.
    public func tags(in repository: RepositoryName, after last: String?, limit: Int) async throws(BerthError) -> (tags: [String], more: Bool) {
        let prefix = RegistryKeys.tags(repository)
        let start = last.map { prefix + $0 + "\0" } ?? prefix
        let page = try await kv.range(from: start, to: KeyRange.prefixEnd(prefix), limit: limit)
        return (page.kvs.map { String($0.key.dropFirst(prefix.count)) }, page.more)
    }

    /// Every tag with the manifest it names.
    public func allTags(in repository: RepositoryName) async throws(BerthError) -> [(String, TagRecord)] {
        let prefix = RegistryKeys.tags(repository)
        return try await kv.list(prefix: prefix).kvs.compactMap { kv in
            decode(TagRecord.self, kv).map { (String(kv.key.dropFirst(prefix.count)), $0) }
        }
    }

    public func deleteTag(_ tag: String, in repository: RepositoryName) async throws(BerthError) -> Bool {
        let result = try await kv.txn(if: [], then: [.delete(key: RegistryKeys.tag(repository, tag))], else: [])
        if case .delete(let deleted) = result.results.first { return !deleted.isEmpty }
        return false
    }

    /// Deletes a manifest with every tag naming it and its referrer entry; false when absent.
    public func deleteManifest(_ digest: Digest, in repository: RepositoryName) async throws(BerthError) -> Bool {
        guard let record = try await manifest(digest, in: repository) else { return false }
        var operations: [BerthStore.Operation] = [.delete(key: RegistryKeys.manifest(repository, digest))]
        for (tag, named) in try await allTags(in: repository) where named.digest == digest {
            operations.append(.delete(key: RegistryKeys.tag(repository, tag)))
        }
        if let subject = record.subject { operations.append(.delete(key: RegistryKeys.referrer(repository, subject, digest))) }
        _ = try await kv.txn(if: [], then: operations, else: [])
        return true
    }

    /// The manifests whose `subject` is `digest`, as descriptors, optionally of one artifact type.
    public func referrers(of digest: Digest, in repository: RepositoryName, artifactType: String?) async throws(BerthError) -> [JSONValue] {
        try await kv.list(prefix: RegistryKeys.referrers(repository, digest)).kvs.compactMap { kv in
            guard let entry = try? JSONParser.parse(kv.value) else { return nil }
            if let artifactType, entry["artifactType"]?.stringValue != artifactType { return nil }
            return entry
        }
    }

    // MARK: repositories

    /// Whether the repository is in the catalog (it holds or held a manifest).
    public func hasRepository(_ repository: RepositoryName) async throws(BerthError) -> Bool {
        try await kv.get(RegistryKeys.repository(repository)) != nil
    }

    /// Repositories in lexical order after `last`, `limit` at most (0: all).
    public func repositories(after last: String?, limit: Int) async throws(BerthError) -> (names: [String], more: Bool) {
        let prefix = RegistryKeys.repositories
        let start = last.map { prefix + $0 + "\0" } ?? prefix
        let page = try await kv.range(from: start, to: KeyRange.prefixEnd(prefix), limit: limit)
        return (page.kvs.map { String($0.key.dropFirst(prefix.count)) }, page.more)
    }

    // MARK: uploads

    public func startUpload(_ id: String, _ record: UploadRecord) async throws(BerthError) {
        _ = try await kv.put(RegistryKeys.upload(id), try encode(record))
    }

    public func upload(_ id: String) async throws(BerthError) -> UploadRecord? {
        decode(UploadRecord.self, try await kv.get(RegistryKeys.upload(id)))
    }

    public func endUpload(_ id: String) async throws(BerthError) {
        try await kv.delete(RegistryKeys.upload(id))
    }

    public func allUploads() async throws(BerthError) -> [(String, UploadRecord)] {
        try await kv.list(prefix: RegistryKeys.uploads).kvs.compactMap { kv in
            decode(UploadRecord.self, kv).map { (String(kv.key.dropFirst(RegistryKeys.uploads.count)), $0) }
        }
    }
}
