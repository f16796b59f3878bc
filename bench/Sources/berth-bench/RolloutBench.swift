import BerthClient
import BerthCore
import Foundation

/// End to end with simulated nodes (issue 4): D Deployments × R replicas applied at once; the
/// clock runs from the first apply until a watch has seen every pod Running. Everything real
/// runs — API, store, ReplicaSet and Deployment controllers, scheduler, bindings — only the
/// nodes' container runtime is simulated.
struct RolloutBench {
    let client: APIClient
    let namespace: String
    let deployments: Int
    let replicas: Int
    let serverPID: Int32?

    func run() async throws -> JSONValue {
        let total = deployments * replicas
        let list = try await client.request(.GET, "/api/v1/namespaces/\(namespace)/pods?limit=1").checked().json()
        let revision = list["metadata"]?["resourceVersion"]?.stringValue ?? "0"
        let events = try await client.watchLines("/api/v1/namespaces/\(namespace)/pods?watch=true&resourceVersion=\(revision)")
        let clock = ContinuousClock()
        let start = clock.now
        let creator = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<deployments {
                    if index >= 16 { try await group.next() }
                    group.addTask { _ = try await client.request(.POST, "/apis/apps/v1/namespaces/\(namespace)/deployments", body: JSONWriter.bytes(deployment(index))).checked() }
                }
                try await group.waitForAll()
            }
        }
        var running = Set<String>()
        // Created and bound counts show which stage of the pipeline holds the rollout back.
        var created = Set<String>()
        var bound = Set<String>()
        var peakRSS: Int64 = 0
        var lastSample = clock.now
        var progress: [JSONValue] = []
        var createdProgress: [JSONValue] = []
        var boundProgress: [JSONValue] = []
        for try await line in events {
            // Only the fields needed; a full decode of 100,000 events would cost more than the server.
            let event = try JSONParser.parse(line)
            guard let object = event["object"], let uid = object["metadata"]?["uid"]?.stringValue else { continue }
            created.insert(uid)
            if let node = object["spec"]?["nodeName"]?.stringValue, !node.isEmpty { bound.insert(uid) }
            if object["status"]?["phase"]?.stringValue == "Running" { running.insert(uid) }
            if clock.now - lastSample > .seconds(1) {
                lastSample = clock.now
                peakRSS = max(peakRSS, rss())
                progress.append(.number(String(running.count)))
                createdProgress.append(.number(String(created.count)))
                boundProgress.append(.number(String(bound.count)))
            }
            if running.count >= total { break }
        }
        let elapsed = clock.now - start
        try await creator.value
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        peakRSS = max(peakRSS, rss())
        return [
            "bench": "rollout", "deployments": .number(String(deployments)), "replicas": .number(String(replicas)), "pods": .number(String(total)),
            "seconds_to_all_running": .number(String(format: "%.1f", seconds)),
            "pods_per_s": .number(String(format: "%.0f", Double(total) / seconds)),
            "server_rss_mb_end": .number(String(format: "%.0f", Double(rss()) / 1_048_576)),
            "server_rss_mb_peak_sampled": .number(String(format: "%.0f", Double(peakRSS) / 1_048_576)),
            "running_per_second_samples": .array(progress),
            "created_per_second_samples": .array(createdProgress),
            "bound_per_second_samples": .array(boundProgress),
        ]
    }

    func deployment(_ index: Int) -> JSONValue {
        let name = "app-\(index)"
        return [
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": ["name": .string(name), "namespace": .string(namespace)],
            "spec": [
                "replicas": .number(String(replicas)),
                "selector": ["matchLabels": ["app": .string(name)]],
                "template": [
                    "metadata": ["labels": ["app": .string(name)]],
                    "spec": ["tolerations": [["key": "berth.dev/simulated", "operator": "Exists"]],
                             "containers": [["name": "c", "image": "berth/busybox:latest", "command": ["sleep", "3600"],
                                             "resources": ["requests": ["cpu": "10m", "memory": "16Mi"]]]]],
                ],
            ],
        ]
    }

    func rss() -> Int64 {
        guard let serverPID, let status = try? String(contentsOfFile: "/proc/\(serverPID)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int64(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }
}
