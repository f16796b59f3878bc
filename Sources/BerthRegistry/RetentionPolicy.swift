import BerthCore
import BerthImages
import Foundation

/// Retention per repository, from a namespace's annotation `registry.berth.dev/retention`: a
/// JSON list of rules, each for the repositories matching `repositories` (default all of the
/// namespace, patterns name the part after `NAMESPACE/`):
///
///     [{"repositories": "app*", "tags": "v*", "keepLast": 10, "deleteUntagged": true}]
///
/// `keepLast` keeps the N most recently pushed tags matching `tags` and deletes the older ones;
/// `deleteUntagged` deletes manifests no tag names (past the collector's grace window), except
/// an index's entries whose index is tagged and referrers (signatures, SBOMs) — those go when
/// their subject goes. Applied by each garbage collection before it marks.
public struct RetentionRule: Codable, Sendable, Equatable {
    public var repositories: String?
    public var tags: String?
    public var keepLast: Int?
    public var deleteUntagged: Bool?

    public init(repositories: String? = nil, tags: String? = nil, keepLast: Int? = nil, deleteUntagged: Bool? = nil) {
        self.repositories = repositories
        self.tags = tags
        self.keepLast = keepLast
        self.deleteUntagged = deleteUntagged
    }

    public static let annotation = "registry.berth.dev/retention"

    /// The rules of an annotation's value; a value that does not parse is an error naming it.
    public static func parse(_ text: String) throws(BerthError) -> [RetentionRule] {
        let rules = try JSONCoding.decode([RetentionRule].self, from: Data(text.utf8))
        for rule in rules where (rule.keepLast ?? 0) < 0 {
            throw BerthError(.invalid, "\(annotation): keepLast must not be negative")
        }
        return rules
    }

    public func applies(to repository: RepositoryName) -> Bool {
        ReplicationPlan.matches(repositories ?? "*", repository.name)
    }
}

public enum RetentionPlan {
    /// The tags `rule` deletes: those matching its pattern beyond the newest `keepLast`.
    public static func tagsToDelete(_ tags: [(String, TagRecord)], rule: RetentionRule) -> [String] {
        guard let keep = rule.keepLast else { return [] }
        let matching = tags.filter { ReplicationPlan.matches(rule.tags ?? "*", $0.0) }
            .sorted { ($0.1.updated, $0.0) > ($1.1.updated, $1.0) }
        return matching.dropFirst(keep).map(\.0).sorted()
    }

    /// The manifests `deleteUntagged` deletes: named by no tag, not an entry of a tagged index,
    /// not a referrer, pushed before `cutoff`.
    public static func untagged(_ manifests: [Digest: ManifestRecord], tagged: Set<Digest>, cutoff: Date) -> [Digest] {
        var kept = tagged
        for digest in tagged { kept.formUnion(manifests[digest]?.manifests ?? []) }
        return manifests.filter { digest, record in
            !kept.contains(digest) && record.subject == nil
                && (TableCells.parseTimestamp(record.created).map { $0 < cutoff } ?? false)
        }.map(\.key).sorted { $0.description < $1.description }
    }
}

extension RegistryGarbageCollector {
    /// Applies the rules of each namespace; returns (tags deleted, manifests deleted).
    func applyRetention(_ rules: [String: [RetentionRule]], cutoff: Date, dryRun: Bool) async throws(BerthError) -> (Int, Int) {
        var tagsRemoved = 0, manifestsRemoved = 0
        guard !rules.isEmpty else { return (0, 0) }
        for name in try await metadata.repositories(after: nil, limit: 0).names {
            guard let repository = try? RepositoryName(name), let namespaceRules = rules[repository.namespace] else { continue }
            for rule in namespaceRules where rule.applies(to: repository) {
                var tags = try await metadata.allTags(in: repository)
                for tag in RetentionPlan.tagsToDelete(tags, rule: rule) {
                    let deleted = dryRun ? true : try await metadata.deleteTag(tag, in: repository)
                    if deleted { tagsRemoved += 1 }
                    tags.removeAll { $0.0 == tag }
                }
                guard rule.deleteUntagged == true else { continue }
                let prefix = RegistryKeys.manifests(repository)
                var manifests: [Digest: ManifestRecord] = [:]
                for kv in try await metadata.kv.list(prefix: prefix).kvs {
                    if let digest = try? Digest(parsing: String(kv.key.dropFirst(prefix.count))),
                       let record = try? JSONCoding.decode(ManifestRecord.self, from: Data(kv.value)) { manifests[digest] = record }
                }
                for digest in RetentionPlan.untagged(manifests, tagged: Set(tags.map(\.1.digest)), cutoff: cutoff) {
                    let deleted = dryRun ? true : try await metadata.deleteManifest(digest, in: repository)
                    if deleted { manifestsRemoved += 1 }
                }
            }
        }
        return (tagsRemoved, manifestsRemoved)
    }
}
