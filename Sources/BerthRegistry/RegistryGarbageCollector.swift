import BerthCore
import BerthImages
import BerthStore
import Foundation
import Glibc

/// Reclaims what no manifest needs while pushes and pulls go on — nothing is locked. Mark:
/// every manifest of every repository keeps itself, its config and layers, and an index its
/// entries. Sweep, in two steps: a blob link that no manifest of its repository refers to,
/// older than the grace window, is removed (only if unchanged since read: a re-push wins);
/// then a blob file no manifest or remaining link names, written before the grace window, is
/// deleted. Uploads abandoned longer than `uploadMaximumAge` go too. The grace window is what
/// keeps a push in progress safe: its blobs are linked, but its manifest is not there yet.
public struct RegistryGarbageCollector: Sendable {
    public let metadata: RegistryMetadata
    public let storage: BlobStorage

    public init(metadata: RegistryMetadata, storage: BlobStorage) {
        self.metadata = metadata
        self.storage = storage
    }

    public struct Report: Codable, Sendable, Equatable {
        public var dryRun = false
        public var manifests = 0
        public var linksRemoved = 0
        public var blobsKept = 0
        public var blobsRemoved = 0
        public var bytesFreed: Int64 = 0
        public var uploadsRemoved = 0
        public var repositoriesRemoved = 0
        /// Deleted by retention rules.
        public var tagsRemoved = 0
        public var manifestsRemoved = 0
    }

    struct Link {
        let key: String
        let digest: Digest
        let modRevision: Int64
        let linked: Date?
    }

    public func run(now: Date = Date(), grace: TimeInterval = 3600, uploadMaximumAge: TimeInterval = 24 * 3600,
                    retention: [String: [RetentionRule]] = [:], dryRun: Bool = false) async throws(BerthError) -> Report {
        var report = Report(dryRun: dryRun)
        (report.tagsRemoved, report.manifestsRemoved) = try await applyRetention(retention, cutoff: now.addingTimeInterval(-grace), dryRun: dryRun)
        var live = Set<Digest>()
        var referencedIn: [String: Set<Digest>] = [:]
        var links: [String: [Link]] = [:]
        // Mark, a page of keys at a time (an etcd range has a size limit).
        var start = RegistryKeys.repos
        let end = KeyRange.prefixEnd(RegistryKeys.repos)
        while true {
            let page = try await metadata.kv.range(from: start, to: end, limit: 5000)
            for kv in page.kvs {
                let rest = kv.key.dropFirst(RegistryKeys.repos.count)
                if let marker = rest.range(of: "/_manifests/") {
                    let repository = String(rest[..<marker.lowerBound])
                    guard let digest = try? Digest(parsing: String(rest[marker.upperBound...])),
                          let record = try? JSONCoding.decode(ManifestRecord.self, from: Data(kv.value)) else { continue }
                    report.manifests += 1
                    let kept = [digest] + record.blobs + record.manifests
                    live.formUnion(kept)
                    referencedIn[repository, default: []].formUnion(kept)
                } else if let marker = rest.range(of: "/_blobs/") {
                    let repository = String(rest[..<marker.lowerBound])
                    guard let digest = try? Digest(parsing: String(rest[marker.upperBound...])) else { continue }
                    let link = try? JSONCoding.decode(BlobLink.self, from: Data(kv.value))
                    links[repository, default: []].append(Link(key: kv.key, digest: digest, modRevision: kv.modRevision,
                                                               linked: TableCells.parseTimestamp(link?.linked)))
                }
            }
            guard page.more, let last = page.kvs.last else { break }
            start = last.key + "\0"
        }
        // Links no manifest of their repository needs, past the grace window.
        var stale: [Link] = []
        for (repository, repositoryLinks) in links {
            let referenced = referencedIn[repository] ?? []
            for link in repositoryLinks {
                if referenced.contains(link.digest) || (link.linked.map { now.timeIntervalSince($0) < grace } ?? true) {
                    live.insert(link.digest)
                } else {
                    stale.append(link)
                }
            }
        }
        report.linksRemoved = dryRun ? stale.count : try await removeLinks(stale, keeping: &live)
        if !dryRun { try await uncount(stale, remaining: links) }
        // A repository left with no manifest and no blob leaves the catalog.
        let staleKeys = Set(stale.map(\.key))
        let occupied = Set(referencedIn.keys).union(links.filter { $0.value.contains { !staleKeys.contains($0.key) } }.keys)
        report.repositoriesRemoved = try await removeEmptyRepositories(keeping: occupied, dryRun: dryRun)
        // Blob files nothing names, older than the grace window.
        for digest in storage.content.all() {
            if live.contains(digest) { report.blobsKept += 1; continue }
            let path = storage.content.path(for: digest)
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            if now.timeIntervalSince1970 - TimeInterval(info.st_mtim.tv_sec) < grace { report.blobsKept += 1; continue }
            report.blobsRemoved += 1
            report.bytesFreed += Int64(info.st_size)
            if !dryRun { unlink(path) }
        }
        report.uploadsRemoved = try await removeAbandonedUploads(now: now, grace: grace, maximumAge: uploadMaximumAge, dryRun: dryRun)
        return report
    }

    /// Deletes links in batches, each only if unchanged since it was read; a batch that lost a
    /// race goes one by one, and a link re-made meanwhile keeps its blob.
    func removeLinks(_ stale: [Link], keeping live: inout Set<Digest>) async throws(BerthError) -> Int {
        var removed = 0
        var index = 0
        while index < stale.count {
            let batch = Array(stale[index..<min(index + 100, stale.count)])
            index += batch.count
            let result = try await metadata.kv.txn(if: batch.map { .unchanged($0.key, since: $0.modRevision) },
                                                   then: batch.map { .delete(key: $0.key) }, else: [])
            if result.succeeded { removed += batch.count; continue }
            for link in batch {
                let single = try await metadata.kv.txn(if: [.unchanged(link.key, since: link.modRevision)], then: [.delete(key: link.key)], else: [])
                if single.succeeded { removed += 1 } else { live.insert(link.digest) }
            }
        }
        return removed
    }

    /// A namespace whose repositories no longer hold a blob stops counting it in its storage
    /// (the quota's next recount lowers `used`).
    func uncount(_ removed: [Link], remaining links: [String: [Link]]) async throws(BerthError) {
        let removedKeys = Set(removed.map(\.key))
        var held = Set<String>()
        for (repository, repositoryLinks) in links {
            let namespace = String(repository.prefix { $0 != "/" })
            for link in repositoryLinks where !removedKeys.contains(link.key) { held.insert(namespace + " " + link.digest.description) }
        }
        var uncounted: [String] = []
        for link in removed {
            let repository = link.key.dropFirst(RegistryKeys.repos.count).prefix { $0 != "_" }
            let namespace = String(repository.prefix { $0 != "/" })
            if held.insert(namespace + " " + link.digest.description).inserted { uncounted.append(RegistryKeys.usage(namespace, link.digest)) }
        }
        // A hundred deletions per transaction (etcd's default limit is 128 operations).
        var index = 0
        while index < uncounted.count {
            let batch = uncounted[index..<min(index + 100, uncounted.count)]
            index += batch.count
            _ = try await metadata.kv.txn(if: [], then: batch.map { .delete(key: $0) }, else: [])
        }
    }

    /// Deletes the catalog entries of empty repositories, each only if unchanged since read (a
    /// manifest pushed meanwhile rewrites its entry, and wins).
    func removeEmptyRepositories(keeping occupied: Set<String>, dryRun: Bool) async throws(BerthError) -> Int {
        var removed = 0
        for kv in try await metadata.kv.list(prefix: RegistryKeys.repositories).kvs {
            let name = String(kv.key.dropFirst(RegistryKeys.repositories.count))
            guard !occupied.contains(name) else { continue }
            if dryRun { removed += 1; continue }
            if try await metadata.kv.txn(if: [.unchanged(kv.key, since: kv.modRevision)], then: [.delete(key: kv.key)], else: []).succeeded { removed += 1 }
        }
        return removed
    }

    /// Upload files with no session past the grace window (a server stopped between the two),
    /// and sessions older than `maximumAge`.
    func removeAbandonedUploads(now: Date, grace: TimeInterval, maximumAge: TimeInterval, dryRun: Bool) async throws(BerthError) -> Int {
        let sessions = Dictionary(try await metadata.allUploads(), uniquingKeysWith: { first, _ in first })
        var removed = 0
        for id in storage.uploadIDs() {
            var info = stat()
            guard stat(storage.uploadPath(id), &info) == 0 else { continue }
            let age = now.timeIntervalSince1970 - TimeInterval(info.st_mtim.tv_sec)
            let started = sessions[id].flatMap { TableCells.parseTimestamp($0.started) }
            let abandoned = started.map { now.timeIntervalSince($0) > maximumAge && age > grace } ?? (age > grace)
            guard abandoned else { continue }
            removed += 1
            if !dryRun {
                storage.cancel(id)
                if sessions[id] != nil { try await metadata.endUpload(id) }
            }
        }
        return removed
    }
}
