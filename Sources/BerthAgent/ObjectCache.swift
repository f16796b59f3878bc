import BerthClient
import BerthCore
import Logging
import Synchronization

/// Objects of a few kinds kept current by list + watch, with one signal that fires on every
/// change (newest only: a consumer that is busy sees one pending signal, not a backlog).
final class ObjectCache: Sendable {
    private let state = Mutex<(objects: [String: [String: JSONValue]], synced: Set<String>)>(([:], []))
    let changes: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init() {
        (changes, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    static func key(_ object: JSONValue) -> String {
        "\(object["metadata"]?["namespace"]?.stringValue ?? "")/\(object["metadata"]?["name"]?.stringValue ?? "")"
    }

    /// Keeps `kind` (a collection path such as `/api/v1/services`) current until cancelled.
    /// `keep` decides what is held of each object (nil: nothing); a change that leaves what is
    /// held as it was does not signal, so a consumer that needs, say, only the addresses and
    /// labels of running pods sleeps through the churn of everything else.
    func watch(_ kind: String, client: APIClient, logger: Logger, keep: (@Sendable (JSONValue) -> JSONValue?)? = nil) async {
        await ListWatch(client: client, path: kind, logger: logger).run { items in
            let kept = keep.map { keep in items.compactMap(keep) } ?? items
            let all = Dictionary(kept.map { (Self.key($0), $0) }, uniquingKeysWith: { a, _ in a })
            state.withLock {
                $0.objects[kind] = all
                $0.synced.insert(kind)
            }
            signal.yield()
        } onEvent: { type, object in
            let value = type == "DELETED" ? nil : (keep.map { $0(object) } ?? object)
            let key = Self.key(object)
            let changed = state.withLock { state -> Bool in
                let old = state.objects[kind]?[key]
                state.objects[kind, default: [:]][key] = value
                return old != value
            }
            if changed { signal.yield() }
        }
    }

    func objects(_ kind: String) -> [String: JSONValue] { state.withLock { $0.objects[kind] ?? [:] } }
    func object(_ kind: String, _ key: String) -> JSONValue? { state.withLock { $0.objects[kind]?[key] } }
    func synced(_ kinds: [String]) -> Bool { state.withLock { state in kinds.allSatisfy { state.synced.contains($0) } } }
    /// Several kinds read under one lock, so they are consistent with each other.
    func snapshot(_ kinds: [String]) -> [[String: JSONValue]] { state.withLock { state in kinds.map { state.objects[$0] ?? [:] } } }
}
