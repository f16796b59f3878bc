import AsyncHTTPClient
import BerthClient
import BerthCore
import Foundation
import NIOCore
import Synchronization

/// API benchmark (issue 2): N pod creates over HTTPS with C concurrent clients while W watchers
/// measure delivery latency, then LIST latency; the same creates straight into etcd as the
/// reference. Prints one JSON line. Usage:
///   berth-bench api --kubeconfig K --pods N --clients C --watchers W [--etcd http://127.0.0.1:P]
///   berth-bench tenants --kubeconfig ADMIN --user-kubeconfig OWNER --owner owner-500 [--tenants 1000 --namespaces-per-tenant 10 --rounds 500]
///   berth-bench quota --kubeconfig ADMIN --namespace N --pods P --clients C
///   berth-bench history [--series 100000 --window 3600]
@main
struct BenchMain {
    static func main() async throws {
        let arguments = CommandLine.arguments
        func option(_ name: String, _ fallback: String) -> String {
            guard let index = arguments.firstIndex(of: "--\(name)"), index + 1 < arguments.count else { return fallback }
            return arguments[index + 1]
        }
        let kubeconfig = option("kubeconfig", "/var/lib/berth/admin.kubeconfig")
        let pods = Int(option("pods", "20000"))!
        let clients = Int(option("clients", "32"))!
        let watchers = Int(option("watchers", "100"))!
        let etcd = option("etcd", "")
        let namespace = option("namespace", "bench")
        if arguments.count > 1 && arguments[1] == "scheduler" {
            // Runs without a server: the algorithm over an in-memory snapshot; the median of three runs.
            var runs: [JSONValue] = []
            for _ in 0..<3 { runs.append(try SchedulerBench(nodes: Int(option("nodes", "5000"))!, pods: Int(option("pods", "20000"))!).run()) }
            func rate(_ line: JSONValue) -> Double { line["decisions_per_s"].flatMap { Double(JSONWriter.string($0)) } ?? 0 }
            var median = runs.sorted { rate($0) < rate($1) }[1]
            median["runs_decisions_per_s"] = .array(runs.map { $0["decisions_per_s"] ?? .null })
            print(JSONWriter.string(median))
            return
        }

        if arguments.count > 1 && arguments[1] == "history" {
            let seconds = Int64(option("window", "3600"))!
            print(JSONWriter.string(HistoryBench(series: Int(option("series", "100000"))!, window: .seconds(seconds)).run()))
            return
        }

        if arguments.count > 1 && arguments[1] == "codec" {
            print(JSONWriter.string(.object(try CodecBench(iterations: Int(option("pods", "2000"))!).run())))
            return
        }

        let client = try APIClient(config: Kubeconfig.load(path: kubeconfig))
        _ = try? await client.request(.POST, "/api/v1/namespaces", body: JSONWriter.bytes(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(namespace)]]))
        if arguments.count > 1 && (arguments[1] == "tenants" || arguments[1] == "quota") {
            let bench = TenancyBench(admin: client)
            if arguments[1] == "quota" {
                print(JSONWriter.string(.object(try await bench.quota(namespace: namespace, pods: pods, clients: clients))))
            } else {
                let user = try APIClient(config: Kubeconfig.load(path: option("user-kubeconfig", "")))
                let line = try await bench.tenants(user: user, tenants: Int(option("tenants", "1000"))!, namespacesPerTenant: Int(option("namespaces-per-tenant", "10"))!,
                                                   owner: option("owner", "owner-500"), rounds: Int(option("rounds", "500"))!)
                print(JSONWriter.string(.object(line)))
                await user.shutdown()
            }
            await client.shutdown()
            return
        }
        if arguments.count > 1 && arguments[1] == "rollout" {
            let bench = RolloutBench(client: client, namespace: namespace, deployments: Int(option("deployments", "300"))!,
                                     replicas: Int(option("replicas", "100"))!, serverPID: Int32(option("server-pid", "")))
            print(JSONWriter.string(try await bench.run()))
            await client.shutdown()
            return
        }
        if arguments.count > 1 && (arguments[1] == "podstart" || arguments[1] == "density") {
            let bench = NodeBench(client: client, namespace: namespace, node: option("node", "vm"))
            if arguments[1] == "podstart" {
                let samples = try await bench.podStart(count: pods).sorted()
                print(JSONWriter.string(["samples_ms": .array(samples.map { .number(String(format: "%.1f", $0)) }),
                                         "median_ms": .number(String(format: "%.1f", percentile(samples, 0.5)))]))
            } else {
                let seconds = try await bench.density(count: pods)
                print(JSONWriter.string(["all_running_s": .number(String(format: "%.2f", seconds))]))
            }
            await client.shutdown()
            return
        }
        let result = try await APIBench(client: client, namespace: namespace, pods: pods, clients: clients, watchers: watchers).run()
        var line = result
        if !etcd.isEmpty {
            let reference = try await EtcdBench(endpoint: etcd, count: pods, clients: clients).run()
            line["etcd_creates_per_s"] = .number(String(format: "%.0f", reference))
            if let berth = result["creates_per_s"].flatMap({ Double(JSONWriter.string($0)) }) {
                line["ratio_berth_over_etcd"] = .number(String(format: "%.3f", berth / reference))
            }
        }
        print(JSONWriter.string(.object(line)))
        await client.shutdown()
    }
}

/// A pod of realistic size (about 1 KB of JSON), named by index.
func benchPod(_ index: Int, sent: UInt64) -> JSONValue {
    [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string("bench-\(index)"), "labels": ["app": "bench", "shard": .string(String(index % 16))],
                     "annotations": ["bench/sent-ns": .string(String(sent))]],
        "spec": [
            "tolerations": [["key": "berth.dev/simulated", "operator": "Exists"]],
            "containers": [[
                "name": "app", "image": "berth/busybox:latest", "command": ["sleep", "3600"],
                "env": [["name": "MODE", "value": "bench"], ["name": "INDEX", "value": .string(String(index))]],
                "ports": [["containerPort": 8080, "name": "http"]],
                "resources": ["requests": ["cpu": "10m", "memory": "16Mi"], "limits": ["cpu": "100m", "memory": "64Mi"]],
                "readinessProbe": ["httpGet": ["path": "/healthz", "port": 8080], "periodSeconds": 5],
            ]],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 5,
            // Bound to a node that never registers: the benchmark measures the API machinery,
            // so neither the scheduler nor `berth up`'s own agent may start 20,000 containers.
            "nodeName": "bench-absent-node",
        ],
    ]
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Shared counters and buffers for the benchmark's concurrent tasks.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
    var current: Int { value.load(ordering: .relaxed) }
}

final class Samples: Sendable {
    private let values = Mutex<[Double]>([])
    func append(_ more: [Double]) { values.withLock { $0.append(contentsOf: more) } }
    var sorted: [Double] { values.withLock { $0.sorted() } }
}
