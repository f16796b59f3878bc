import BerthCore
import BerthStore
import Foundation
import Logging
import ServiceLifecycle

/// Empties namespaces that are being deleted, then removes them. Objects with finalizers are
/// marked for deletion and waited for, as Kubernetes' namespace controller does.
final class NamespaceFinalizer: ServiceLifecycle.Service, Sendable {
    let registry: ResourceRegistry
    let storage: ObjectStorage
    let logger: Logger
    private let queue: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

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

    /// Deletes what can go now; true when the namespace is empty.
    func sweep(_ namespace: String) async throws(BerthError) -> Bool {
        var empty = true
        for descriptor in registry.descriptors where descriptor.namespaced {
            let page = try await storage.list(descriptor, namespace: namespace, limit: 0, continueAfter: nil)
            for kv in page.kvs {
                empty = false
                var object = try ObjectCodec.decode(kv)
                let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
                let finalizers = object.value(at: ["metadata", "finalizers"])?.arrayValue ?? []
                if finalizers.isEmpty {
                    let reserved = descriptor.kind == "Service" ? APIServer.reservedKeys(object) : []
                    _ = try? await storage.delete(descriptor, namespace: namespace, name: name, expectedRevision: kv.modRevision, alsoDelete: reserved)
                } else if object.value(at: ["metadata", "deletionTimestamp"]) == nil {
                    object.set(.string(TableCells.formatTimestamp(Date())), at: ["metadata", "deletionTimestamp"])
                    object.set(0, at: ["metadata", "deletionGracePeriodSeconds"])
                    object.set(nil, at: ["metadata", "resourceVersion"])
                    _ = try? await storage.update(descriptor, object, expectedRevision: kv.modRevision)
                }
            }
        }
        return empty
    }
}
