import BerthCore
import Foundation

extension PodWorker {
    /// Runs the probes that are due for a running container. A failing liveness probe (or a
    /// startup probe past its threshold) restarts the container; readiness feeds `Ready`.
    func runProbes(_ container: Container) async {
        guard let entry = record.containers[container.name], let started = entry.startedAt, let ip = record.podIP else { return }
        let startupDone = container.startupProbe == nil || probeStates["\(container.name)/startup"]?.passing == true
        if let probe = container.startupProbe, !startupDone {
            if await check(probe, kind: "startup", container: container, id: entry.id, ip: ip, started: started) == false {
                await restartForProbe(container, kind: "Startup")
            }
            return
        }
        if let probe = container.livenessProbe {
            if await check(probe, kind: "liveness", container: container, id: entry.id, ip: ip, started: started) == false {
                await restartForProbe(container, kind: "Liveness")
                return
            }
        }
        if let probe = container.readinessProbe {
            _ = await check(probe, kind: "readiness", container: container, id: entry.id, ip: ip, started: started)
        }
    }

    /// Runs the probe when due and returns its settled state (nil while undecided).
    private func check(_ probe: Probe, kind: String, container: Container, id: String, ip: String, started: Date) async -> Bool? {
        let key = "\(container.name)/\(kind)"
        var state = probeStates[key] ?? ProbeState()
        let now = Date()
        if state.nextRun == .distantPast { state.nextRun = started.addingTimeInterval(Double(probe.initialDelaySeconds ?? 0)) }
        guard now >= state.nextRun else {
            probeStates[key] = state
            return state.passing
        }
        let success = await context.probes.run(probe, containerID: id, podIP: ip, container: container)
        state.nextRun = Date().addingTimeInterval(Double(max(1, probe.periodSeconds ?? 10)))
        if success {
            state.successes += 1
            state.failures = 0
            if state.successes >= Int(probe.successThreshold ?? 1) { state.passing = true }
        } else {
            state.failures += 1
            state.successes = 0
            if state.failures >= Int(probe.failureThreshold ?? 3) {
                state.passing = false
                if kind != "readiness" || state.failures == Int(probe.failureThreshold ?? 3) {
                    await context.api.event(pod: pod, reason: "Unhealthy", message: "\(kind.capitalized) probe failed for container \(container.name)",
                                            type: "Warning", node: context.configuration.nodeName)
                }
            }
        }
        probeStates[key] = state
        return state.passing
    }

    private func restartForProbe(_ container: Container, kind: String) async {
        await context.api.event(pod: pod, reason: "Killing", message: "Container \(container.name) failed \(kind.lowercased()) probe, will be restarted",
                                node: context.configuration.nodeName)
        let grace = container.livenessProbe?.terminationGracePeriodSeconds ?? gracePeriod
        await stop(container.name, grace: grace)
        probeStates = probeStates.filter { !$0.key.hasPrefix("\(container.name)/") }
        // The exit is picked up by the next sync, which applies the restart policy and back-off.
        var entry = containerRecord(container.name)
        if context.runtime.exit(bundle: bundle(container.name)) == nil {
            entry.lastTermination = .init(exitCode: 137, reason: "Error", startedAt: entry.startedAt, finishedAt: Date())
            entry.startedAt = nil
            record.containers[container.name] = entry
            scheduleBackoff(container.name)
        }
    }

    /// A container counts as ready when it runs, has started, and passes readiness (if probed).
    func isReady(_ container: Container) -> Bool {
        guard record.containers[container.name]?.startedAt != nil else { return false }
        if container.startupProbe != nil && probeStates["\(container.name)/startup"]?.passing != true { return false }
        if container.readinessProbe != nil { return probeStates["\(container.name)/readiness"]?.passing == true }
        return true
    }
}
