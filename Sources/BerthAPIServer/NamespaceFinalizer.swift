import BerthCore
import BerthStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Empties namespaces that are being deleted, then removes them, as Kubernetes' namespace
/// controller does: every object is deleted as a client's DELETE would delete it (pods on a
/// node get their grace period and stop through their agent; objects with finalizers are
/// marked), and the namespace stays Terminating until the last of them is gone.
final class NamespaceFinalizer: ServiceLifecycle.Service, Sendable {
    typealias Deleter = @Sendable (ResourceDescriptor, String, String) async throws(BerthError) -> Void
    let registry: ResourceRegistry
    let storage: ObjectStorage
    let logger: Logger
    private let queue: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation
    private let deleter = Mutex<Deleter?>(nil)

    /// The API server's own delete (set once, when the server is made).
    var deleteObject: Deleter? {
        get { deleter.withLock { $0 } }
        set { deleter.withLock { $0 = newValue } }
    }

    init(registry: ResourceRegistry, storage: ObjectStorage, logger: Logger) {
        self.registry = registry
        self.storage = storage
        self.logger = logger
        (queue, continuation) = AsyncStream<String>.makeStream()
    }

    func enqueue(_ namespace: String) { continuation.yield(namespace) }

    func run() async throws {
        // Namespaces left terminating by an earlier run are picked up again.
        if let page = try? await storage.list(.namespace, namespace: nil, limit: 0, continueAfter: nil) {
            for kv in page.kvs {
                if let object = try? ObjectCodec.decode(kv), object.value(at: ["metadata", "deletionTimestamp"]) != nil,
                   let name = object.value(at: ["metadata", "name"])?.stringValue {
                    enqueue(name)
                }
            }
        }
        await withDiscardingTaskGroup { group in
            group.addTask { [continuation] in
                try? await gracefulShutdown()
                continuation.finish()
            }
            for await namespace in queue.cancelOnGracefulShutdown() {
                group.addTask { await self.finalize(namespace) }
            }
        }
    }

    func finalize(_ namespace: String) async {
        for attempt in 0..<600 {
            if Task.isCancelled { return }
            do {
                if try await sweep(namespace) {
                    _ = try? await storage.delete(.namespace, namespace: nil, name: namespace, expectedRevision: nil)
                    logger.info("namespace deleted", metadata: ["namespace": "\(namespace)"])
                    return
                }
            } catch {
                logger.warning("namespace cleanup failed", metadata: ["namespace": "\(namespace)", "error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(attempt < 10 ? 200 : 1000))
        }
    }

    /// Deletes what can go now; true when the namespace is empty. Objects already being
    /// deleted (a pod in its grace period, an object held by a finalizer) are waited for.
    func sweep(_ namespace: String) async throws(BerthError) -> Bool {
        var empty = true
        for descriptor in registry.descriptors where descriptor.namespaced {
            let page = try await storage.list(descriptor, namespace: namespace, limit: 0, continueAfter: nil)
            for kv in page.kvs {
                empty = false
                let object = try ObjectCodec.decode(kv)
                guard object.value(at: ["metadata", "deletionTimestamp"]) == nil,
                      let name = object.value(at: ["metadata", "name"])?.stringValue else { continue }
                do {
                    try await deleteObject?(descriptor, namespace, name)
                } catch where error.code == .notFound || error.code == .conflict {
                    continue
                }
            }
        }
        return empty
    }
}
