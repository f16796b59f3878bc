import BerthCore
import Foundation

/// Local ephemeral storage as the kubelet's eviction manager judges it: an emptyDir past its
/// `sizeLimit`, a container whose writable layer and logs pass its
/// `limits.ephemeral-storage`, or a pod whose containers and emptyDirs together pass the sum of
/// its containers' limits — each evicts the pod, with the kubelet's words. Pure: usage comes in.
enum EphemeralStorage {
    struct Usage: Sendable {
        /// Bytes per emptyDir volume on disk (medium Memory ones are on tmpfs: not counted).
        var emptyDirs: [String: UInt64]
        /// Writable layer plus logs, per container.
        var containers: [String: UInt64]
    }

    /// Why the pod must go, or nil.
    static func violation(_ pod: Pod, usage: Usage) -> String? {
        let spec = pod.spec
        for volume in spec?.volumes ?? [] {
            guard let emptyDir = volume.emptyDir, emptyDir.medium != "Memory", let limit = emptyDir.sizeLimit,
                  let used = usage.emptyDirs[volume.name], Int128(used) * 1_000_000_000 > limit.nanos else { continue }
            return "Usage of EmptyDir volume \"\(volume.name)\" exceeds the limit \"\(limit)\". "
        }
        var limits: [Quantity] = []
        for container in spec?.containers ?? [] {
            guard let limit = container.resources?.limits?["ephemeral-storage"] else { continue }
            limits.append(limit)
            if let used = usage.containers[container.name], Int128(used) * 1_000_000_000 > limit.nanos {
                return "Container \(container.name) exceeded its local ephemeral storage limit \"\(limit)\". "
            }
        }
        let containerCount = spec?.containers.count ?? 0
        guard containerCount > 0, limits.count == containerCount else { return nil }
        let total = limits.reduce(Quantity(integer: 0), +)
        let used = usage.containers.values.reduce(0, +) + usage.emptyDirs.values.reduce(0, +)
        if Int128(used) * 1_000_000_000 > total.nanos { return "Pod ephemeral local storage usage exceeds the total limit of containers \(total). " }
        return nil
    }

    /// Whether the pod sets any limit worth measuring for.
    static func isLimited(_ pod: Pod) -> Bool {
        (pod.spec?.volumes ?? []).contains { $0.emptyDir?.sizeLimit != nil && $0.emptyDir?.medium != "Memory" }
            || (pod.spec?.containers ?? []).contains { $0.resources?.limits?["ephemeral-storage"] != nil }
    }
}

extension PodWorker {
    /// Measures the pod's local storage (every `sourceRefreshInterval`) and evicts it past a limit.
    func enforceEphemeralStorage() async {
        guard EphemeralStorage.isLimited(pod), record.evictionMessage == nil else { return }
        let now = ContinuousClock.now
        if let last = lastStorageCheck, now - last < context.configuration.storageCheckInterval { return }
        lastStorageCheck = now
        var usage = EphemeralStorage.Usage(emptyDirs: [:], containers: [:])
        for volume in pod.spec?.volumes ?? [] where volume.emptyDir != nil && volume.emptyDir?.medium != "Memory" {
            usage.emptyDirs[volume.name] = DirectoryUsage.bytes("\(podDirectory)/volumes/\(volume.name)")
        }
        for container in pod.spec?.containers ?? [] {
            usage.containers[container.name] = DirectoryUsage.bytes("\(podDirectory)/containers/\(container.name)/upper")
                + DirectoryUsage.bytes("\(logDirectory)/\(container.name)")
        }
        if let message = EphemeralStorage.violation(pod, usage: usage) { await evict(message: message) }
    }
}
