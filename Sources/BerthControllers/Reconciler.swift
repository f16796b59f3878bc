import Logging

/// A controller's per-key logic. Event handlers enqueue keys; `run` hands each key to one worker
/// at a time, forgets its backoff on success and retries it with backoff on failure.
public protocol Reconciler: Sendable {
    var name: String { get }
    var queue: WorkQueue { get }
    /// Keys worked on at once; each key is still never handled twice concurrently.
    var workers: Int { get }
    func reconcile(_ key: String) async throws
}

extension Reconciler {
    public var workers: Int { 4 }

    public func runWorkers(logger: Logger) async {
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for _ in 0..<workers {
                    group.addTask {
                        while let key = await queue.next() {
                            do {
                                try await reconcile(key)
                                queue.forget(key)
                            } catch {
                                let delay = queue.retry(key)
                                logger.debug("reconcile failed, retrying", metadata: ["controller": "\(name)", "key": "\(key)", "delay": "\(delay)", "error": "\(error)"])
                            }
                            queue.done(key)
                        }
                    }
                }
            }
        } onCancel: {
            queue.shutDown()
        }
    }
}
