import BerthCore
import Foundation

extension PodWorker {
    /// Evicts the pod under node pressure, as the kubelet's hard eviction does: an Event, every
    /// container killed at once (no grace period), its network address given back, and the
    /// pod left Failed with reason Evicted, so its controller replaces it elsewhere.
    func evict(message: String) async {
        guard record.evictionMessage == nil, !removed else { return }
        record.evictionMessage = message
        record.save("\(podDirectory)/record.json")
        await context.api.event(pod: pod, reason: "Evicted", message: message, type: "Warning", node: context.configuration.nodeName)
        let names = Set(record.containers.keys).union((pod.spec?.containers ?? []).map(\.name))
        await stopAll(Array(names), grace: 0)
        for name in names {
            if var entry = record.containers[name], entry.startedAt != nil {
                entry.startedAt = nil
                record.containers[name] = entry
            }
        }
        await context.network.tearDown(podUID: uid)
        record.save("\(podDirectory)/record.json")
        await reportStatus()
    }

    /// What the eviction ranking needs: the pod's priority, memory working set and request,
    /// and its process count.
    func evictionFacts() -> (key: String, priority: Int, memoryRequest: Double, evicted: Bool, uid: String,
                             containers: [(name: String, id: String)]) {
        let request = (pod.spec?.containers ?? []).reduce(0.0) { total, container in
            total + (container.resources?.requests?["memory"].map { Double($0.nanos) / 1e9 } ?? 0)
        }
        let running = record.containers.values.filter { $0.startedAt != nil }.map { ($0.name, $0.id) }
        return ("\(record.namespace)/\(record.name)", Int(pod.spec?.priority ?? 0), request, record.evictionMessage != nil || removed, uid, running)
    }
}
