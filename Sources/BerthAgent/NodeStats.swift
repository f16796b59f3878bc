import BerthCore
import BerthRuntime
import Foundation

/// The kubelet's `/stats/summary` document for this node: per pod and container CPU time,
/// memory working set and pids from the cgroups, and the pod's eth0 byte counters.
extension AgentService {
    public func statsSummary() async -> JSONValue {
        let now = JSONValue.string(TableCells.formatTimestamp(Date()))
        var pods: [JSONValue] = []
        for worker in await manager.allWorkers() {
            let snapshot = await worker.statsSnapshot()
            var containers: [JSONValue] = []
            var podCPU: UInt64 = 0, podMemory: UInt64 = 0, podPids: UInt64 = 0
            for container in snapshot.containers {
                guard let usage = CgroupStats.usage(cgroupsPath: "/berth/pod-\(snapshot.uid)/\(container.id)") else { continue }
                podCPU += usage.cpuNanoseconds
                podMemory += usage.memoryWorkingSetBytes
                podPids += usage.pids
                containers.append([
                    "name": .string(container.name), "startTime": .string(TableCells.formatTimestamp(container.started)),
                    "cpu": ["time": now, "usageCoreNanoSeconds": .number(String(usage.cpuNanoseconds))],
                    "memory": ["time": now, "workingSetBytes": .number(String(usage.memoryWorkingSetBytes)),
                               "usageBytes": .number(String(usage.memoryUsageBytes))],
                ])
            }
            var pod: JSONValue = [
                "podRef": ["name": .string(snapshot.name), "namespace": .string(snapshot.namespace), "uid": .string(snapshot.uid)],
                "containers": .array(containers),
                "cpu": ["time": now, "usageCoreNanoSeconds": .number(String(podCPU))],
                "memory": ["time": now, "workingSetBytes": .number(String(podMemory))],
                "process_stats": ["process_count": .number(String(podPids))],
            ]
            if let counters = await context.network.counters(podUID: snapshot.uid) {
                pod["network"] = ["time": now, "name": "eth0", "rxBytes": .number(String(counters.received)), "txBytes": .number(String(counters.transmitted))]
            }
            pods.append(pod)
        }
        let host = HostStats.read(dataDirectory: configuration.dataDirectory)
        let node: JSONValue = [
            "nodeName": .string(configuration.nodeName), "startTime": now,
            "cpu": ["time": now, "usageCoreNanoSeconds": .number(String(UInt64(host.cpuSeconds * 1e9)))],
            "memory": ["time": now, "workingSetBytes": .number(String(host.memoryWorkingSet)), "availableBytes": .number(String(host.memoryAvailable))],
            "fs": ["time": now, "availableBytes": .number(String(host.filesystemAvailable)), "capacityBytes": .number(String(host.filesystemSize))],
            "network": ["time": now, "rxBytes": .number(String(host.network.reduce(0) { $0 + $1.received })),
                        "txBytes": .number(String(host.network.reduce(0) { $0 + $1.transmitted }))],
        ]
        return ["node": node, "pods": .array(pods)]
    }
}

extension PodManager {
    func allWorkers() -> [PodWorker] { Array(workersByUID.values) }
}

extension PodWorker {
    struct StatsSnapshot: Sendable {
        var uid: String
        var namespace: String
        var name: String
        var podDirectory: String
        var containers: [(name: String, id: String, started: Date)]
        /// The pod's claims and where their volumes are on this host.
        var claims: [(claim: String, path: String)] = []
    }

    func statsSnapshot() -> StatsSnapshot {
        let running = record.containers.values.compactMap { entry in entry.startedAt.map { (entry.name, entry.id, $0) } }
        let claims = (pod.spec?.volumes ?? []).compactMap { volume in
            volume.persistentVolumeClaim.flatMap { source in volumePaths[volume.name].map { (source.claimName, $0) } }
        }
        return StatsSnapshot(uid: uid, namespace: record.namespace, name: record.name, podDirectory: podDirectory, containers: running.sorted { $0.0 < $1.0 },
                             claims: claims)
    }
}
