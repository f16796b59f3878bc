import BerthCore
import Foundation

/// What the agent knows about a pod on this host, kept in `pods/UID/record.json` so a restarted
/// agent carries on where it left off (restart counts, last states, which containers it made).
struct PodRecord: Codable, Sendable {
    var uid: String
    var namespace: String
    var name: String
    var podIP: String?
    var startTime: Date?
    var containers: [String: ContainerRecord] = [:]
    /// Set when the node evicted the pod (its status then says Failed/Evicted with this).
    var evictionMessage: String?

    init(uid: String, namespace: String, name: String) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
    }

    static func load(_ path: String) -> PodRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(PodRecord.self, from: data)
    }

    func save(_ path: String) {
        guard let data = try? JSONEncoder().encode(self) else { return }
        let temporary = "\(path).tmp"
        if FileManager.default.createFile(atPath: temporary, contents: data) { _ = rename(temporary, path) }
    }
}

/// One container of the pod, across its restarts.
struct ContainerRecord: Codable, Sendable {
    var name: String
    /// runc's id; the same across restarts in place.
    var id: String
    var image: String = ""
    var imageID: String = ""
    var restartCount: Int32 = 0
    /// Set while an instance exists (running or exited but not yet handled).
    var startedAt: Date?
    var lastTermination: Termination?
    /// Identity of the spec the running instance was made from; a change rebuilds it in place.
    var specFingerprint: String = ""
    var backoffSeconds: Double = 0
    var nextAttempt: Date?
    var waitingReason: String?
    var waitingMessage: String?
    /// Init containers: finished with exit code 0, never to run again.
    var completed = false

    struct Termination: Codable, Sendable, Hashable {
        var exitCode: Int32
        var reason: String
        var startedAt: Date?
        var finishedAt: Date
        var message: String?
    }
}

extension PodRecord {
    /// Pod UIDs and the addresses their records hold, from every record under `directory`.
    static func addressHolders(in directory: String) -> [(owner: String, address: String)] {
        let uids = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return uids.compactMap { uid in
            guard let record = load("\(directory)/\(uid)/record.json"), let ip = record.podIP else { return nil }
            return (record.uid, ip)
        }
    }
}
