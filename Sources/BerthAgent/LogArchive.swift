import BerthCore
import Foundation

/// Logs that outlive their pods: when a pod ends, its log directory moves to
/// `DATA/logs-ended/NAMESPACE_NAME_UID` with a `pod.json` (namespace, name, uid, labels, when it
/// ended), and is removed once older than the retention (`--log-retention`), so a search finds
/// the lines of pods deleted or replaced in that window.
enum LogArchive {
    struct EndedPod: Codable, Sendable {
        var namespace: String
        var name: String
        var uid: String
        var labels: [String: String]
        var ended: Date
    }

    static func directory(_ configuration: AgentConfiguration) -> String { "\(configuration.dataDirectory)/logs-ended" }

    /// Keeps a terminated pod's logs (or removes them when retention is off).
    static func keep(logDirectory: String, pod: Pod, configuration: AgentConfiguration) {
        guard configuration.logRetention > .zero, FileManager.default.fileExists(atPath: logDirectory) else {
            try? FileManager.default.removeItem(atPath: logDirectory)
            return
        }
        let target = directory(configuration) + "/" + URL(fileURLWithPath: logDirectory).lastPathComponent
        try? FileManager.default.createDirectory(atPath: directory(configuration), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: target)
        guard rename(logDirectory, target) == 0 else {
            try? FileManager.default.removeItem(atPath: logDirectory)
            return
        }
        let facts = EndedPod(namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "",
                             labels: pod.metadata.labels ?? [:], ended: Date())
        if let data = try? JSONEncoder().encode(facts) { FileManager.default.createFile(atPath: target + "/pod.json", contents: data) }
    }

    /// The ended pods still kept, with their directories.
    static func ended(_ configuration: AgentConfiguration) -> [(pod: EndedPod, directory: String)] {
        let base = directory(configuration)
        return ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap { name in
            guard let data = FileManager.default.contents(atPath: "\(base)/\(name)/pod.json"),
                  let pod = try? JSONDecoder().decode(EndedPod.self, from: data) else { return nil }
            return (pod, "\(base)/\(name)")
        }
    }

    /// Removes what ended longer ago than the retention.
    static func expire(_ configuration: AgentConfiguration, now: Date = Date()) {
        let retention = Double(configuration.logRetention.components.seconds)
        for (pod, directory) in ended(configuration) where now.timeIntervalSince(pod.ended) > retention {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
