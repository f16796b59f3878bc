import BerthMetrics
import BerthRuntime

/// One container's numbers for `/metrics/cadvisor`.
struct ContainerSample: Sendable {
    var namespace: String, pod: String, container: String, id: String
    var usage: ContainerUsage
    var filesystemBytes: UInt64
}

/// A pod's eth0 byte counters.
struct PodNetworkSample: Sendable {
    var namespace: String, pod: String
    var received: Int64, transmitted: Int64
}

/// cAdvisor's names and labels for per-container usage, so dashboards and alert rules written
/// for the kubelet's `/metrics/cadvisor` work unchanged. Shared by real agents and by the
/// simulated nodes of `berth agent --simulate`.
enum CadvisorExposition {
    static func render(containers: [ContainerSample], networks: [PodNetworkSample], cores: Int, memoryBytes: UInt64, into writer: inout ExpositionWriter) {
        writer.family("machine_cpu_cores", .gauge, help: "Number of logical CPU cores.")
        writer.sample("machine_cpu_cores", [:], Double(cores))
        writer.family("machine_memory_bytes", .gauge, help: "Amount of memory installed on the machine.")
        writer.sample("machine_memory_bytes", [:], Double(memoryBytes))
        func family(_ name: String, _ type: MetricType, _ help: String, _ value: (ContainerSample) -> Double) {
            writer.family(name, type, help: help)
            for sample in containers {
                writer.sample(name, ["container": sample.container, "id": "/berth/\(sample.id)", "name": sample.id, "namespace": sample.namespace, "pod": sample.pod], value(sample))
            }
        }
        family("container_cpu_usage_seconds_total", .counter, "Cumulative cpu time consumed in seconds.") { Double($0.usage.cpuNanoseconds) / 1e9 }
        family("container_memory_working_set_bytes", .gauge, "Current working set in bytes.") { Double($0.usage.memoryWorkingSetBytes) }
        family("container_memory_usage_bytes", .gauge, "Current memory usage in bytes, including all memory regardless of when it was accessed.") { Double($0.usage.memoryUsageBytes) }
        family("container_processes", .gauge, "Number of processes running inside the container.") { Double($0.usage.pids) }
        family("container_fs_usage_bytes", .gauge, "Number of bytes that are consumed by the container on this filesystem.") { Double($0.filesystemBytes) }
        for (name, help, received) in [("container_network_receive_bytes_total", "Cumulative count of bytes received", true),
                                       ("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", false)] {
            writer.family(name, .counter, help: help)
            for network in networks {
                writer.sample(name, ["container": "", "interface": "eth0", "namespace": network.namespace, "pod": network.pod],
                              Double(received ? network.received : network.transmitted))
            }
        }
    }
}
