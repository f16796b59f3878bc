import BerthCore
import Logging
import Synchronization

/// A change an informer saw. Handlers only enqueue keys; they must not block.
public enum InformerEvent<T: Sendable>: Sendable {
    case added(T)
    case updated(old: T, new: T)
    case deleted(T)

    /// The object as the event leaves it (the last state for a deletion).
    public var object: T {
        switch self {
        case .added(let object), .deleted(let object): object
        case .updated(_, let new): new
        }
    }
}

/// List + watch of one kind into an in-memory cache, shared by every controller that reads the
/// kind. Re-lists when the watch ends or its revision was compacted (410), and reports the
/// difference to handlers as ordinary events, so nothing is missed across a reconnect.
public final class Informer<T: APIResource>: Sendable {
    public typealias Handler = @Sendable (InformerEvent<T>) -> Void

    let descriptor: ResourceDescriptor
    let api: ResourceAPI
    let fieldSelector: String?
    let logger: Logger
    private let state = Mutex(State())
    private let synced = Mutex(SyncState())

    struct SyncState {
        var done = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    /// Objects are kept boxed: a `Pod` is over a kilobyte inline, and a dictionary's storage
    /// holds every value inline at twice the count of slots — 20 MB for 8,000 pods — where a
    /// reference takes 8 bytes.
    final class Entry: Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    struct State {
        var objects: [String: Entry] = [:]
        /// Keys of objects per controlling owner UID, and of objects without one per
        /// `orphans/NAMESPACE` (a UID has no slash).
        var byOwner: [String: Set<String>] = [:]
        var handlers: [Handler] = []
    }

    public init(_ descriptor: ResourceDescriptor, api: ResourceAPI, fieldSelector: String? = nil, logger: Logger) {
        self.descriptor = descriptor
        self.api = api
        self.fieldSelector = fieldSelector
        self.logger = logger
    }

    public func addHandler(_ handler: @escaping Handler) { state.withLock { $0.handlers.append(handler) } }

    public func get(_ key: String) -> T? { state.withLock { $0.objects[key]?.value } }

    public func list() -> [T] { state.withLock { $0.objects.values.map(\.value) } }

    public var count: Int { state.withLock { $0.objects.count } }

    /// Visits every cached object without copying them out; `body` runs under the cache's lock,
    /// so it must be quick and must not call back into this informer.
    public func forEach(_ body: (T) -> Void) {
        state.withLock { state in for entry in state.objects.values { body(entry.value) } }
    }

    /// Objects whose controlling owner has this UID.
    public func owned(by uid: String) -> [T] {
        state.withLock { state in (state.byOwner[uid] ?? []).compactMap { state.objects[$0]?.value } }
    }

    /// Objects in `namespace` that no controller owns: what a controller may adopt.
    public func orphans(in namespace: String?) -> [T] { owned(by: Self.orphanIndex(namespace)) }

    static func orphanIndex(_ namespace: String?) -> String { "orphans/" + (namespace ?? "") }

    /// Returns once the first list has been loaded into the cache, or once the waiting task is
    /// cancelled: a shutdown that comes before the first list (the listener could not bind)
    /// stops the informer before it syncs, and a waiter that ignored cancellation kept the whole
    /// process from stopping until ServiceLifecycle's cancellation limit killed it.
    public func waitForSync() async {
        let id = synced.withLock { value -> Int in
            value.nextWaiter += 1
            return value.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Cancellation is checked under the lock: a handler that ran before this point
                // found nothing to resume, so this must not wait.
                let resumeNow = synced.withLock { value -> Bool in
                    if value.done || Task.isCancelled { return true }
                    value.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            synced.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    public func run() async {
        while !Task.isCancelled {
            do {
                let result = try await api.list(descriptor, as: T.self, fieldSelector: fieldSelector)
                replaceAll(result.items)
                markSynced()
                var revision = result.resourceVersion
                let events = try await api.watch(descriptor, from: revision, fieldSelector: fieldSelector)
                for try await event in events {
                    guard let type = event["type"]?.stringValue, let object = event["object"] else { continue }
                    if let version = object["metadata"]?["resourceVersion"]?.stringValue { revision = version }
                    switch type {
                    case "ADDED", "MODIFIED": upsert(try object.decode(T.self))
                    case "DELETED": remove(try object.decode(T.self))
                    case "ERROR": throw BerthError(.gone, object["message"]?.stringValue ?? "watch error")
                    default: continue
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("informer watch ended, re-listing", metadata: ["kind": "\(descriptor.plural)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    public static func key(_ object: T) -> String { key(namespace: object.metadata.namespace, name: object.metadata.name ?? "") }

    public static func key(namespace: String?, name: String) -> String {
        guard let namespace, !namespace.isEmpty else { return name }
        return namespace + "/" + name
    }

    private func markSynced() {
        let waiters = synced.withLock { value -> [CheckedContinuation<Void, Never>] in
            value.done = true
            defer { value.waiters = [:] }
            return Array(value.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Applies a fresh list: new and changed objects as adds/updates, vanished ones as deletes.
    private func replaceAll(_ items: [T]) {
        var fresh: [String: Entry] = [:]
        for item in items { fresh[Self.key(item)] = Entry(item) }
        let (events, handlers) = state.withLock { state -> ([InformerEvent<T>], [Handler]) in
            var events: [InformerEvent<T>] = []
            for (key, old) in state.objects where fresh[key] == nil { events.append(.deleted(old.value)) }
            for (key, entry) in fresh {
                let new = entry.value
                if let old = state.objects[key]?.value {
                    if old.metadata.resourceVersion != new.metadata.resourceVersion { events.append(.updated(old: old, new: new)) }
                } else {
                    events.append(.added(new))
                }
            }
            state.objects = fresh
            state.byOwner = [:]
            for (key, object) in fresh { state.byOwner[Self.indexKey(object.value), default: []].insert(key) }
            return (events, state.handlers)
        }
        for event in events { for handler in handlers { handler(event) } }
    }

    private func upsert(_ object: T) {
        let key = Self.key(object)
        let (event, handlers) = state.withLock { state -> (InformerEvent<T>, [Handler]) in
            let old = state.objects.updateValue(Entry(object), forKey: key)?.value
            if let old {
                let index = Self.indexKey(old)
                state.byOwner[index]?.remove(key)
                if state.byOwner[index]?.isEmpty == true { state.byOwner[index] = nil }
            }
            state.byOwner[Self.indexKey(object), default: []].insert(key)
            return (old.map { .updated(old: $0, new: object) } ?? .added(object), state.handlers)
        }
        for handler in handlers { handler(event) }
    }

    private func remove(_ object: T) {
        let key = Self.key(object)
        let (removed, handlers) = state.withLock { state -> (T?, [Handler]) in
            let old = state.objects.removeValue(forKey: key)?.value
            if let old {
                let index = Self.indexKey(old)
                state.byOwner[index]?.remove(key)
                if state.byOwner[index]?.isEmpty == true { state.byOwner[index] = nil }
            }
            return (old, state.handlers)
        }
        for handler in handlers { handler(.deleted(removed ?? object)) }
    }

    static func ownerUID(_ object: T) -> String? {
        object.metadata.ownerReferences?.first { $0.controller == true }?.uid
    }

    static func indexKey(_ object: T) -> String {
        ownerUID(object) ?? orphanIndex(object.metadata.namespace)
    }
}
