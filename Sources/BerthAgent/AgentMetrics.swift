import BerthMetrics
import BerthRuntime
import Foundation
import Synchronization

/// The node's metrics, as the kubelet serves them through the API server's node proxy:
/// `/metrics` (the agent itself: pod start latency, runtime errors, running pods; on an
/// ingress node, HAProxy's request metrics — `IngressMetrics`),
/// `/metrics/cadvisor` (per container under cAdvisor's names and labels) and
/// `/metrics/resource` (node and pod totals, plus node-exporter's filesystem and network names).
enum AgentMetrics {
    /// The agents' own registry: in `berth up` the server's `/metrics` must not carry them.
    static let registry = MetricsRegistry()
    static let podStartDuration = registry.histogram("kubelet_pod_start_duration_seconds", help: "Duration in seconds from the pod's creation until it is first reported Running.",
                                                     buckets: [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 300, 600])
    static let runtimeErrors = registry.counter("kubelet_runtime_operations_errors_total", help: "Cumulative number of runtime operation errors by operation type.",
                                                labels: ["operation_type"])

    static let paths = ["metrics", "metrics/cadvisor", "metrics/resource"]
}

extension AgentService {
    /// One of `AgentMetrics.paths` in the requested format; nil for any other path.
    public func metrics(path: String, format: ExpositionFormat) async -> [UInt8]? {
        var writer = ExpositionWriter(format: format)
        switch path {
        case "metrics":
            let workers = await manager.allWorkers()
            var containers = 0
            for worker in workers { containers += await worker.statsSnapshot().containers.count }
            writer.family("kubelet_running_pods", .gauge, help: "Number of pods that have a running pod sandbox")
            writer.sample("kubelet_running_pods", [:], Double(workers.count))
            writer.family("kubelet_running_containers", .gauge, help: "Number of containers currently running")
            writer.sample("kubelet_running_containers", ["container_state": "running"], Double(containers))
            ProcessMetrics.render(into: &writer)
            AgentMetrics.registry.render(into: &writer)
            if let rows = await IngressMetrics.read(dataDirectory: configuration.dataDirectory) { IngressMetrics.render(rows, into: &writer) }
            await renderVolumeStats(workers, into: &writer)
        case "metrics/cadvisor":
            await renderContainers(into: &writer)
        case "metrics/resource":
            await renderResource(into: &writer)
        default:
            return nil
        }
        writer.finish()
        return writer.bytes
    }

    /// The kubelet's `kubelet_volume_stats_*` for every claim a pod on this node mounts, from
    /// statvfs of the volume (once per claim, however many pods share it).
    func renderVolumeStats(_ workers: [PodWorker], into writer: inout ExpositionWriter) async {
        var seen: [String: (namespace: String, claim: String, stats: statvfs)] = [:]
        for worker in workers {
            let snapshot = await worker.statsSnapshot()
            for (claim, path) in snapshot.claims where seen["\(snapshot.namespace)/\(claim)"] == nil {
                var stats = statvfs()
                // A GlusterFS client cut off answers ENOTCONN: no sample rather than a hang.
                guard statvfs(path, &stats) == 0 else { continue }
                seen["\(snapshot.namespace)/\(claim)"] = (snapshot.namespace, claim, stats)
            }
        }
        let rows = seen.sorted { $0.key < $1.key }.map(\.value)
        let families: [(String, String, (statvfs) -> Double)] = [
            ("kubelet_volume_stats_capacity_bytes", "Capacity in bytes of the volume", { Double($0.f_blocks) * Double($0.f_frsize) }),
            ("kubelet_volume_stats_available_bytes", "Number of available bytes in the volume", { Double($0.f_bavail) * Double($0.f_frsize) }),
            ("kubelet_volume_stats_used_bytes", "Number of used bytes in the volume", { Double($0.f_blocks - $0.f_bfree) * Double($0.f_frsize) }),
            ("kubelet_volume_stats_inodes", "Maximum number of inodes in the volume", { Double($0.f_files) }),
            ("kubelet_volume_stats_inodes_free", "Number of free inodes in the volume", { Double($0.f_ffree) }),
            ("kubelet_volume_stats_inodes_used", "Number of used inodes in the volume", { Double($0.f_files - $0.f_ffree) }),
        ]
        for (name, help, value) in families {
            writer.family(name, .gauge, help: help)
            for row in rows { writer.sample(name, ["namespace": row.namespace, "persistentvolumeclaim": row.claim], value(row.stats)) }
        }
    }

    func containerSamples(withFilesystem: Bool) async -> (containers: [ContainerSample], networks: [PodNetworkSample]) {
        var containers: [ContainerSample] = []
        var networks: [PodNetworkSample] = []
        for worker in await manager.allWorkers() {
            let snapshot = await worker.statsSnapshot()
            for container in snapshot.containers {
                guard let usage = CgroupStats.usage(cgroupsPath: "/berth/pod-\(snapshot.uid)/\(container.id)") else { continue }
                let upper = "\(snapshot.podDirectory)/containers/\(container.name)/upper"
                containers.append(ContainerSample(namespace: snapshot.namespace, pod: snapshot.name, container: container.name, id: container.id, usage: usage,
                                                  filesystemBytes: withFilesystem ? DirectoryUsage.recent(upper) : 0))
            }
            if let counters = await context.network.counters(podUID: snapshot.uid) {
                networks.append(PodNetworkSample(namespace: snapshot.namespace, pod: snapshot.name, received: counters.received, transmitted: counters.transmitted))
            }
        }
        return (containers, networks)
    }

    func renderContainers(into writer: inout ExpositionWriter) async {
        let (containers, networks) = await containerSamples(withFilesystem: true)
        let host = HostStats.read(dataDirectory: configuration.dataDirectory)
        CadvisorExposition.render(containers: containers, networks: networks, cores: host.cores, memoryBytes: host.memoryTotal, into: &writer)
    }

    func renderResource(into writer: inout ExpositionWriter) async {
        let (containers, _) = await containerSamples(withFilesystem: false)
        let host = HostStats.read(dataDirectory: configuration.dataDirectory)
        writer.family("node_cpu_usage_seconds_total", .counter, help: "Cumulative cpu time consumed by the node in core-seconds")
        writer.sample("node_cpu_usage_seconds_total", [:], host.cpuSeconds)
        writer.family("node_memory_working_set_bytes", .gauge, help: "Current working set of the node in bytes")
        writer.sample("node_memory_working_set_bytes", [:], Double(host.memoryWorkingSet))
        writer.family("node_memory_available_bytes", .gauge, help: "Memory available for new work without swapping (MemAvailable), in bytes.")
        writer.sample("node_memory_available_bytes", [:], Double(host.memoryAvailable))
        writer.family("node_memory_total_bytes", .gauge, help: "Total usable memory (MemTotal), in bytes.")
        writer.sample("node_memory_total_bytes", [:], Double(host.memoryTotal))
        writer.family("node_filesystem_size_bytes", .gauge, help: "Filesystem size in bytes.")
        writer.sample("node_filesystem_size_bytes", ["mountpoint": configuration.dataDirectory], Double(host.filesystemSize))
        writer.family("node_filesystem_avail_bytes", .gauge, help: "Filesystem space available to non-root users in bytes.")
        writer.sample("node_filesystem_avail_bytes", ["mountpoint": configuration.dataDirectory], Double(host.filesystemAvailable))
        writer.family("node_network_receive_bytes_total", .counter, help: "Network device statistic receive_bytes.")
        for device in host.network { writer.sample("node_network_receive_bytes_total", ["device": device.device], Double(device.received)) }
        writer.family("node_network_transmit_bytes_total", .counter, help: "Network device statistic transmit_bytes.")
        for device in host.network { writer.sample("node_network_transmit_bytes_total", ["device": device.device], Double(device.transmitted)) }
        writer.family("node_load1", .gauge, help: "1m load average.")
        writer.sample("node_load1", [:], host.load1)
        writer.family("pod_cpu_usage_seconds_total", .counter, help: "Cumulative cpu time consumed by the pod in core-seconds")
        var pods: [String: (cpu: Double, memory: Double)] = [:]
        for sample in containers {
            let key = sample.namespace + "/" + sample.pod
            pods[key, default: (0, 0)].cpu += Double(sample.usage.cpuNanoseconds) / 1e9
            pods[key, default: (0, 0)].memory += Double(sample.usage.memoryWorkingSetBytes)
        }
        for (key, value) in pods.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            writer.sample("pod_cpu_usage_seconds_total", ["namespace": parts[0], "pod": parts[1]], value.cpu)
        }
        writer.family("pod_memory_working_set_bytes", .gauge, help: "Current working set of the pod in bytes")
        for (key, value) in pods.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            writer.sample("pod_memory_working_set_bytes", ["namespace": parts[0], "pod": parts[1]], value.memory)
        }
    }
}

/// Bytes a directory tree holds on disk (allocated blocks, hard links counted once), without
/// following symbolic links or crossing into other filesystems.
enum DirectoryUsage {
    /// Measured at most once a minute per directory, as cAdvisor refreshes disk usage on its own
    /// period rather than per scrape: a walk of a busy upper dir costs more than the scrape.
    static func recent(_ path: String, now: ContinuousClock.Instant = .now) -> UInt64 {
        if let (time, bytes) = cache.withLock({ $0[path] }), now - time < .seconds(60) { return bytes }
        let bytes = bytes(path)
        cache.withLock { cache in
            if cache.count > 10_000 { cache = cache.filter { now - $0.value.time < .seconds(60) } }
            cache[path] = (now, bytes)
        }
        return bytes
    }

    private static let cache = Mutex<[String: (time: ContinuousClock.Instant, bytes: UInt64)]>([:])

    static func bytes(_ path: String) -> UInt64 {
        var root = stat()
        guard lstat(path, &root) == 0 else { return 0 }
        var seen = Set<UInt64>()
        return walk(path, device: UInt64(root.st_dev), seen: &seen, depth: 0)
    }

    private static func walk(_ path: String, device: UInt64, seen: inout Set<UInt64>, depth: Int) -> UInt64 {
        guard depth < 64, let directory = opendir(path) else { return 0 }
        defer { closedir(directory) }
        var total: UInt64 = 0
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0, UInt64(info.st_dev) == device else { continue }
            if info.st_nlink > 1, (info.st_mode & S_IFMT) != S_IFDIR, !seen.insert(UInt64(info.st_ino)).inserted { continue }
            total += UInt64(info.st_blocks) * 512
            if (info.st_mode & S_IFMT) == S_IFDIR { total += walk(child, device: device, seen: &seen, depth: depth + 1) }
        }
        return total
    }
}
