import BerthClient
import BerthCore
import Foundation

/// Node benchmarks (issue 3), against a running agent:
/// - `podstart`: pods created one after another (image cached, `nodeName` set); each timed from
///   the create request to `Running` seen on a watch.
/// - `density`: N sleep pods created at once; time until all are `Running`.
struct NodeBench {
    let client: APIClient
    let namespace: String
    let node: String

    func pod(_ name: String) -> JSONValue {
        [
            "apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "labels": ["bench": "node"]],
            "spec": [
                "nodeName": .string(node), "terminationGracePeriodSeconds": 0,
                "containers": [["name": "main", "image": "berth/busybox:latest", "command": ["sleep", "3600"]]],
            ],
        ]
    }

    /// Milliseconds from create to Running, per pod, sequentially.
    func podStart(count: Int) async throws -> [Double] {
        let path = client.path(.pod, namespace: namespace)
        var samples: [Double] = []
        for index in 0..<count {
            let name = "start-\(index)"
            let began = monotonicNanoseconds()
            let created = try await client.request(.POST, path, body: JSONWriter.bytes(pod(name))).checked().json()
            let revision = created.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "0"
            let events = try await client.watch(path + "?watch=true&fieldSelector=metadata.name%3D\(name)&resourceVersion=\(revision)")
            for try await event in events where event["object"]?.value(at: ["status", "phase"])?.stringValue == "Running" {
                break
            }
            samples.append(Double(monotonicNanoseconds() - began) / 1e6)
        }
        return samples
    }

    /// Seconds until `count` pods created together are all Running.
    func density(count: Int) async throws -> Double {
        let path = client.path(.pod, namespace: namespace)
        let list = try await client.request(.GET, path + "?limit=1").checked().json()
        let revision = list.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "0"
        let events = try await client.watch(path + "?watch=true&labelSelector=bench%3Dnode&resourceVersion=\(revision)")
        let began = monotonicNanoseconds()
        let client = self.client
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 8) {
                        _ = try await client.request(.POST, path, body: JSONWriter.bytes(self.pod("dense-\(index)"))).checked()
                    }
                }
            }
            try await group.waitForAll()
        }
        var running = Set<String>()
        for try await event in events {
            guard let name = event["object"]?.value(at: ["metadata", "name"])?.stringValue else { continue }
            if event["object"]?.value(at: ["status", "phase"])?.stringValue == "Running" { running.insert(name) }
            if running.count == count { break }
        }
        return Double(monotonicNanoseconds() - began) / 1e9
    }
}
