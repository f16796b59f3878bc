import BerthCore
import BerthImages
import BerthRuntime
import Foundation

/// The set of pod workers on this node, keyed by pod UID. Watch events land here; each worker
/// runs its own loop.
actor PodManager {
    let context: PodContext
    private var workers: [String: PodWorker] = [:]
    var workersByUID: [String: PodWorker] { workers }
    private var tasks: [String: Task<Void, Never>] = [:]

    init(context: PodContext) { self.context = context }

    /// A pod bound to this node was added or changed.
    func apply(_ pod: Pod) async {
        guard let uid = pod.metadata.uid else { return }
        if let worker = workers[uid] {
            await worker.update(pod)
            return
        }
        let worker = PodWorker(pod: pod, context: context)
        workers[uid] = worker
        tasks[uid] = Task {
            await worker.run()
            self.finished(uid)
        }
    }

    /// The pod is gone from the API or from this node.
    func remove(uid: String) async {
        await workers[uid]?.remove()
    }

    /// After a full list: workers for pods that no longer exist stop, and directories left by
    /// pods this agent no longer knows (deleted while it was down) are cleaned up.
    func reconcile(existing: Set<String>) async {
        for (uid, worker) in workers where !existing.contains(uid) { await worker.remove() }
        let directories = (try? FileManager.default.contentsOfDirectory(atPath: context.configuration.podsDirectory)) ?? []
        for uid in directories where !existing.contains(uid) && workers[uid] == nil {
            guard let record = PodRecord.load("\(context.configuration.podsDirectory)/\(uid)/record.json") else {
                try? FileManager.default.removeItem(atPath: "\(context.configuration.podsDirectory)/\(uid)")
                continue
            }
            var meta = ObjectMeta(name: record.name, namespace: record.namespace)
            meta.uid = uid
            let orphan = Pod(metadata: meta, spec: PodSpec(containers: record.containers.keys.map { Container(name: $0) }))
            let worker = PodWorker(pod: orphan, context: context)
            workers[uid] = worker
            await worker.remove()
            tasks[uid] = Task {
                await worker.run()
                self.finished(uid)
            }
        }
    }

    private func finished(_ uid: String) {
        workers[uid] = nil
        tasks[uid] = nil
    }

    func worker(namespace: String, name: String) async -> PodWorker? {
        for worker in workers.values where await worker.matches(namespace: namespace, name: name) { return worker }
        return nil
    }

    var count: Int { workers.count }

    /// The images the pods on this node name (normalized), for image garbage collection.
    func imageReferences() async -> Set<String> {
        var references: Set<String> = []
        for worker in workers.values { references.formUnion(await worker.imageReferences()) }
        return references
    }

    func shutdown() {
        for task in tasks.values { task.cancel() }
    }
}

extension PodWorker {
    func imageReferences() -> [String] {
        ((pod.spec?.containers ?? []) + (pod.spec?.initContainers ?? [])).compactMap { container in
            (try? ImageReference(parsing: container.image ?? ""))?.description
        }
    }

    func matches(namespace: String, name: String) -> Bool { record.namespace == namespace && record.name == name && !removed }

    /// The log file of a container: the current instance, or the one before with `previous`.
    func logPath(container: String?, previous: Bool) throws(BerthError) -> (path: String, running: Bool) {
        let names = (pod.spec?.containers ?? []).map(\.name) + (pod.spec?.initContainers ?? []).map(\.name)
        guard let name = container ?? (names.count == 1 ? names.first : nil) else {
            throw BerthError(.badRequest, "a container name must be specified for pod \(record.name), choose one of: [\(names.joined(separator: " "))]")
        }
        guard names.contains(name) else {
            throw BerthError(.badRequest, "container \(name) is not valid for pod \(record.name)")
        }
        guard let entry = record.containers[name] else {
            throw BerthError(.badRequest, "container \"\(name)\" in pod \"\(record.name)\" is waiting to start: ContainerCreating")
        }
        if previous {
            guard entry.restartCount > 0 else {
                throw BerthError(.badRequest, "previous terminated container \"\(name)\" in pod \"\(record.name)\" not found")
            }
            return ("\(logDirectory)/\(name)/\(entry.restartCount - 1).log", false)
        }
        return ("\(logDirectory)/\(name)/\(entry.restartCount).log", entry.startedAt != nil)
    }

    func isRunning(container: String) -> Bool {
        guard let entry = record.containers[container], entry.startedAt != nil else { return false }
        return context.runtime.exit(bundle: bundle(container)) == nil
    }

    /// What `attach` needs: the runc id of a running container and whether it was started
    /// with an open stdin and a terminal.
    func attachable(container: String?) throws(BerthError) -> (id: String, stdin: Bool, tty: Bool) {
        let id = try runtimeID(container: container)
        let spec = (pod.spec?.containers ?? []).first { $0.name == (container ?? pod.spec?.containers.first?.name) }
        return (id, spec?.stdin ?? false, spec?.tty ?? false)
    }

    /// What `exec` needs: the runc id of a running container.
    func runtimeID(container: String?) throws(BerthError) -> String {
        let names = (pod.spec?.containers ?? []).map(\.name)
        guard let name = container ?? names.first, let entry = record.containers[name], entry.startedAt != nil else {
            throw BerthError(.badRequest, "container \(container ?? "") is not running in pod \(record.name)")
        }
        return entry.id
    }
}
