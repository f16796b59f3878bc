import BerthCore
import Foundation

extension PodWorker {
    /// Writes the pod's status when it changed: phase, conditions, IPs, container states.
    func reportStatus() async {
        let status = buildStatus()
        guard status != lastReportedStatus else { return }
        let namespace = record.namespace
        let path = "/api/v1/namespaces/\(namespace)/pods/\(record.name)/status"
        for attempt in 0..<3 {
            // The pod last seen on the watch is usually current; only a conflict costs a GET.
            var current = pod
            if attempt > 0 {
                guard let fresh = try? await context.api.getIfPresent(Pod.self, "/api/v1/namespaces/\(namespace)/pods/\(record.name)"),
                      fresh.metadata.uid == uid else { return }
                current = fresh
            }
            current.status = status
            do {
                try await context.api.put(path, current)
                if status.phase == "Running", lastReportedStatus?.phase != "Running",
                   let created = pod.metadata.creationTimestamp.flatMap({ RFC3339.parse($0) }) {
                    AgentMetrics.podStartDuration.observe(Date().timeIntervalSince(created))
                }
                context.logger.debug("status reported", metadata: ["uptime_ms": "\(PodWorker.uptimeMilliseconds)", "pod": "\(record.name)", "phase": "\(status.phase ?? "")"])
                lastReportedStatus = status
                return
            } catch where error.code == .conflict {
                continue
            } catch {
                context.logger.warning("status update failed", metadata: ["pod": "\(namespace)/\(record.name)", "error": "\(error.message)"])
                return
            }
        }
    }

    func buildStatus() -> PodStatus {
        let now = TableCells.formatTimestamp(Date())
        let previous = pod.status
        var status = PodStatus(phase: "Pending")
        status.hostIP = context.configuration.nodeAddress
        status.hostIPs = [IPAddressEntry(ip: context.configuration.nodeAddress)]
        if let ip = record.podIP {
            status.podIP = ip
            status.podIPs = [IPAddressEntry(ip: ip)]
        }
        status.startTime = record.startTime.map(TableCells.formatTimestamp)
        status.qosClass = Self.qosClass(pod)
        let initContainers = pod.spec?.initContainers ?? []
        let containers = pod.spec?.containers ?? []
        if !initContainers.isEmpty { status.initContainerStatuses = initContainers.map { containerStatus($0, isInit: true) } }
        status.containerStatuses = containers.map { containerStatus($0, isInit: false) }
        let initialized = initContainers.allSatisfy { record.containers[$0.name]?.completed == true }
        let ready = initialized && containers.allSatisfy { isReady($0) }
        status.phase = phase(initialized: initialized)
        func condition(_ type: String, _ value: Bool, reason: String? = nil) -> PodCondition {
            let text = value ? "True" : "False"
            let since = previous?.conditions?.first { $0.type == type && $0.status == text }?.lastTransitionTime ?? now
            return PodCondition(type: type, status: text, reason: value ? nil : reason, lastTransitionTime: since)
        }
        let notReady = status.phase == "Succeeded" || status.phase == "Failed" ? "PodCompleted" : "ContainersNotReady"
        status.conditions = [
            condition("PodReadyToStartContainers", sandboxReady),
            condition("Initialized", initialized, reason: "ContainersNotInitialized"),
            condition("Ready", ready, reason: notReady),
            condition("ContainersReady", ready, reason: notReady),
            condition("PodScheduled", true),
        ]
        if let error = sandboxError, !sandboxReady { status.message = error.message; status.reason = nil }
        if let eviction = record.evictionMessage {
            status.phase = "Failed"
            status.reason = "Evicted"
            status.message = eviction
        }
        return status
    }

    private func phase(initialized: Bool) -> String {
        let policy = pod.spec?.restartPolicy ?? "Always"
        let containers = pod.spec?.containers ?? []
        let records = containers.map { record.containers[$0.name] }
        if policy == "Never", let failedInit = (pod.spec?.initContainers ?? []).first(where: {
            let entry = record.containers[$0.name]
            return entry?.startedAt == nil && !(entry?.completed ?? false) && (entry?.lastTermination?.exitCode ?? 0) != 0
        }) {
            _ = failedInit
            return "Failed"
        }
        guard initialized else { return "Pending" }
        if records.contains(where: { $0?.startedAt != nil }) { return "Running" }
        let terminated = records.compactMap { $0?.lastTermination }
        if terminated.count == containers.count && !containers.isEmpty {
            let allSucceeded = terminated.allSatisfy { $0.exitCode == 0 }
            switch policy {
            case "Never": return allSucceeded ? "Succeeded" : "Failed"
            case "OnFailure": if allSucceeded { return "Succeeded" }
            default: break
            }
            return "Running"  // restarting
        }
        return "Pending"
    }

    private func containerStatus(_ container: Container, isInit: Bool) -> ContainerStatus {
        let entry = record.containers[container.name]
        var status = ContainerStatus(name: container.name, image: container.image ?? "", imageID: entry?.imageID ?? "",
                                     ready: isInit ? (entry?.completed ?? false) : isReady(container),
                                     restartCount: entry?.restartCount ?? 0)
        if let id = entry?.id, entry?.imageID.isEmpty == false { status.containerID = "berth://\(id)" }
        let terminated = entry?.lastTermination.map { termination -> ContainerStateTerminated in
            var state = ContainerStateTerminated(exitCode: termination.exitCode, reason: termination.reason)
            state.startedAt = termination.startedAt.map(TableCells.formatTimestamp)
            state.finishedAt = TableCells.formatTimestamp(termination.finishedAt)
            state.message = termination.message
            state.containerID = status.containerID
            return state
        }
        if let started = entry?.startedAt {
            status.state = ContainerState(running: ContainerStateRunning(startedAt: TableCells.formatTimestamp(started)))
            status.started = container.startupProbe == nil || probeStates["\(container.name)/startup"]?.passing == true
            status.lastState = terminated.map { ContainerState(terminated: $0) } ?? ContainerState()
        } else if let reason = entry?.waitingReason {
            status.state = ContainerState(waiting: ContainerStateWaiting(reason: reason, message: entry?.waitingMessage))
            status.lastState = terminated.map { ContainerState(terminated: $0) } ?? ContainerState()
            status.started = false
        } else if let terminated {
            let policy = pod.spec?.restartPolicy ?? "Always"
            let willRestart = !isInit && (policy == "Always" || (policy == "OnFailure" && terminated.exitCode != 0))
            if willRestart || (isInit && terminated.exitCode != 0 && policy != "Never") {
                status.state = ContainerState(waiting: ContainerStateWaiting(
                    reason: "CrashLoopBackOff",
                    message: "back-off \(Int(entry?.backoffSeconds ?? 10))s restarting failed container=\(container.name) pod=\(record.name)_\(record.namespace)(\(uid))"))
                status.lastState = ContainerState(terminated: terminated)
            } else {
                status.state = ContainerState(terminated: terminated)
                status.lastState = ContainerState()
            }
            status.started = false
        } else {
            status.state = ContainerState(waiting: ContainerStateWaiting(reason: sandboxError?.reason ?? "ContainerCreating", message: sandboxError?.message))
            status.lastState = ContainerState()
            status.started = false
        }
        return status
    }

    static func qosClass(_ pod: Pod) -> String {
        let containers = pod.spec?.containers ?? []
        let all = containers.map { ($0.resources?.requests ?? [:], $0.resources?.limits ?? [:]) }
        if all.allSatisfy({ $0.0.isEmpty && $0.1.isEmpty }) { return "BestEffort" }
        let guaranteed = all.allSatisfy { requests, limits in
            ["cpu", "memory"].allSatisfy { limits[$0] != nil && (requests[$0] == nil || requests[$0] == limits[$0]) }
        }
        return guaranteed ? "Guaranteed" : "Burstable"
    }
}
