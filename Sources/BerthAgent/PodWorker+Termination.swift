import BerthCore
import BerthImages
import BerthRuntime
import Foundation

extension PodWorker {
    /// Stops every container (TERM, the grace period, then KILL) and removes everything the pod
    /// made on this host: runc state, mounts, network namespace and address, directories, logs.
    /// Safe to call after a partial set-up and to repeat.
    func terminate(deleteFromAPI: Bool) async {
        let grace = removed ? min(gracePeriod, 2) : gracePeriod
        let names = Set(record.containers.keys).union((pod.spec?.containers ?? []).map(\.name)).union((pod.spec?.initContainers ?? []).map(\.name))
        context.logger.debug("pod terminating", metadata: ["pod": "\(record.namespace)/\(record.name)", "grace": "\(grace)"])
        await stopAll(Array(names), grace: grace)
        context.logger.debug("pod containers stopped", metadata: ["pod": "\(record.namespace)/\(record.name)"])
        for name in names { OverlayMount.unmount("\(podDirectory)/containers/\(name)/rootfs") }
        PodVolumes.tearDown(podDirectory: podDirectory)
        PodIPC.tearDown(podDirectory: podDirectory)
        await context.network.tearDown(podUID: uid)
        context.logger.debug("pod network removed", metadata: ["pod": "\(record.namespace)/\(record.name)"])
        await removeCgroups()
        try? FileManager.default.removeItem(atPath: podDirectory)
        LogArchive.keep(logDirectory: logDirectory, pod: pod, configuration: context.configuration)
        if deleteFromAPI {
            // The agent finishes a graceful deletion, as the kubelet does: delete with grace 0,
            // only if the object is still this pod.
            let body: JSONValue = ["kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(uid)]]
            try? await context.api.delete("/api/v1/namespaces/\(record.namespace)/pods/\(record.name)", body: body)
        }
        terminated = true
        context.logger.info("pod cleaned up", metadata: ["pod": "\(record.namespace)/\(record.name)"])
    }

    /// Stops several containers together: TERM to all, one shared grace period, KILL to what is
    /// left, then removes them from runc.
    func stopAll(_ names: [String], grace: Int64) async {
        var running: [String] = []
        for name in names where context.runtime.exit(bundle: bundle(name)) == nil {
            switch await context.runtime.state(containerRecord(name).id) {
            case .running, .created:
                running.append(name)
                await context.api.event(pod: pod, reason: "Killing", message: "Stopping container \(name)", node: context.configuration.nodeName)
                await context.runtime.kill(containerRecord(name).id, signal: "TERM")
            case .stopped, .missing:
                break
            }
        }
        let stillRunning = { running.filter { self.context.runtime.exit(bundle: self.bundle($0)) == nil } }
        let deadline = Date().addingTimeInterval(Double(max(0, grace)))
        while Date() < deadline, !stillRunning().isEmpty { try? await Task.sleep(for: .milliseconds(50)) }
        for name in stillRunning() { await context.runtime.kill(containerRecord(name).id, signal: "KILL", all: true) }
        let killDeadline = Date().addingTimeInterval(5)
        while Date() < killDeadline, !stillRunning().isEmpty { try? await Task.sleep(for: .milliseconds(20)) }
        for name in names { await context.runtime.delete(containerRecord(name).id) }
    }

    /// Stops one container: TERM, up to `grace` seconds, then KILL; then removes it from runc.
    func stop(_ name: String, grace: Int64) async {
        let entry = containerRecord(name)
        let bundlePath = bundle(name)
        switch await context.runtime.state(entry.id) {
        case .running, .created:
            if context.runtime.exit(bundle: bundlePath) == nil {
                await context.runtime.kill(entry.id, signal: "TERM")
                let deadline = Date().addingTimeInterval(Double(max(0, grace)))
                while Date() < deadline, context.runtime.exit(bundle: bundlePath) == nil {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                if context.runtime.exit(bundle: bundlePath) == nil {
                    await context.runtime.kill(entry.id, signal: "KILL", all: true)
                    let killDeadline = Date().addingTimeInterval(5)
                    while Date() < killDeadline, context.runtime.exit(bundle: bundlePath) == nil {
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                }
            }
        case .stopped, .missing:
            break
        }
        await context.runtime.delete(entry.id)
    }

    /// runc removes a container's own cgroup; the pod's parent cgroup is ours to remove.
    private func removeCgroups() async {
        await PodCgroups.removeSoon(podUID: uid)
    }
}
