import BerthCore
import BerthRuntime
import Foundation
import Logging

/// Underlay mode's nftables in the pods' own network namespaces, where what the node's bridge
/// enforced must live: the newest text of each table (policy, services) kept in force in every
/// local pod's namespace — applied where it is missing or old, forgotten for namespaces that
/// are gone, and installed in a new pod's namespace as it is plumbed (`install`), so a pod
/// never waits for the next change.
actor PodTables {
    let logger: Logger
    private var latest: [String: String] = [:]
    /// What each namespace holds, by table key.
    private var applied: [String: [String: String]] = [:]
    /// The namespaces of this node's pods (set by the agent once its pod manager exists).
    private var namespaces: @Sendable () async -> [String] = { [] }

    init(logger: Logger) { self.logger = logger }

    func source(_ namespaces: @escaping @Sendable () async -> [String]) { self.namespaces = namespaces }

    /// The newest `text` of table `key`, into every local pod's namespace.
    func publish(_ key: String, _ text: String) async {
        latest[key] = text
        let present = await namespaces().filter { FileManager.default.fileExists(atPath: "/run/netns/\($0)") }
        applied = applied.filter { present.contains($0.key) }
        for namespace in present { await bring(namespace) }
    }

    /// Every table into a pod's namespace that has just been plumbed.
    func install(_ namespace: String) async { await bring(namespace) }

    private func bring(_ namespace: String) async {
        for (key, text) in latest.sorted(by: { $0.key < $1.key }) where applied[namespace]?[key] != text {
            guard let result = try? await Subprocess.run("/usr/sbin/ip", ["netns", "exec", namespace, "/usr/sbin/nft", "-f", "-"], input: Array(text.utf8)),
                  result.succeeded else {
                logger.error("nftables refused a table in a pod's namespace", metadata: ["table": "\(key)", "namespace": "\(namespace)"])
                continue
            }
            applied[namespace, default: [:]][key] = text
        }
    }
}
