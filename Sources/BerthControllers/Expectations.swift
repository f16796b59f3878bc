import BerthCore
import Foundation
import Synchronization

/// Creations and deletions a controller has asked for but not yet seen through its informer.
/// Until they are seen, the controller does not act on the key again: the cache would still show
/// the old count and it would create or delete twice. Expectations lapse after a timeout so a
/// lost event cannot stall a controller forever.
public final class Expectations: Sendable {
    private struct Record {
        var adds: Int
        var deletes: Set<String>
        var since: ContinuousClock.Instant
    }

    private let records = Mutex<[String: Record]>([:])
    private let timeout: Duration

    public init(timeout: Duration = .seconds(30)) { self.timeout = timeout }

    public func satisfied(_ key: String) -> Bool {
        records.withLock { records in
            guard let record = records[key] else { return true }
            if record.adds <= 0 && record.deletes.isEmpty { return true }
            return ContinuousClock.now - record.since > timeout
        }
    }

    public func expect(_ key: String, adds: Int, deletes: Set<String>) {
        records.withLock { $0[key] = Record(adds: adds, deletes: deletes, since: .now) }
    }

    public func creationObserved(_ key: String) {
        records.withLock { $0[key]?.adds -= 1 }
    }

    /// A create that failed will never be observed.
    public func creationFailed(_ key: String) { creationObserved(key) }

    public func deletionObserved(_ key: String, uid: String) {
        records.withLock { _ = $0[key]?.deletes.remove(uid) }
    }

    public func forget(_ key: String) { records.withLock { _ = $0.removeValue(forKey: key) } }

    /// Counts what a pod event shows of the creations and deletions expected for `key` (the
    /// pod's owner): an added pod, a pod that began terminating, a pod gone.
    func observe(_ event: InformerEvent<Pod>, for key: String) {
        switch event {
        case .added: creationObserved(key)
        case .updated(let old, let new):
            if old.metadata.deletionTimestamp == nil, new.metadata.deletionTimestamp != nil, let uid = new.metadata.uid { deletionObserved(key, uid: uid) }
        case .deleted(let pod):
            if let uid = pod.metadata.uid { deletionObserved(key, uid: uid) }
        }
    }
}
