import BerthClient
import BerthCore
import Foundation
import Synchronization

struct APIBench {
    let client: APIClient
    let namespace: String
    let pods: Int
    let clients: Int
    let watchers: Int

    func run() async throws -> [String: JSONValue] {
        let path = client.path(.pod, namespace: namespace)
        let start = try await client.request(.GET, path + "?limit=1").checked().json()
        let revision = start.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "0"
        let latencies = Samples()
        let ready = Counter()

        let (client, pods, clients, watchers) = (self.client, self.pods, self.clients, self.watchers)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<watchers {
                group.addTask {
                    let events = try await client.watchLines(path + "?watch=true&resourceVersion=\(revision)")
                    _ = ready.next()
                    var local: [Double] = []
                    local.reserveCapacity(pods)
                    for try await event in events {
                        let now = monotonicNanoseconds()
                        if let sent = sentTimestamp(event) {
                            local.append(Double(now &- sent) / 1e6)
                        }
                        if local.count == pods { break }
                    }
                    latencies.append(local)
                }
            }
            while ready.current < watchers { try await Task.sleep(for: .milliseconds(20)) }
            try await Task.sleep(for: .milliseconds(300))

            let next = Counter()
            let began = monotonicNanoseconds()
            try await withThrowingTaskGroup(of: Void.self) { creators in
                for _ in 0..<clients {
                    creators.addTask {
                        while true {
                            let index = next.next()
                            if index >= pods { return }
                            let body = JSONWriter.bytes(benchPod(index, sent: monotonicNanoseconds()))
                            _ = try await client.request(.POST, path, body: body).checked()
                        }
                    }
                }
                try await creators.waitForAll()
            }
            let seconds = Double(monotonicNanoseconds() - began) / 1e9
            try await group.waitForAll()

            var listTimes: [Double] = []
            var listed = 0
            for _ in 0..<5 {
                let t0 = monotonicNanoseconds()
                let reply = try await client.request(.GET, path, timeout: .seconds(120)).checked()
                listTimes.append(Double(monotonicNanoseconds() - t0) / 1e6)
                listed = reply.body.count
            }
            let sorted = latencies.sorted
            return [
                "bench": "api-sqlite", "pods": .number(String(pods)), "clients": .number(String(clients)), "watchers": .number(String(watchers)),
                "creates_per_s": .number(String(format: "%.0f", Double(pods) / seconds)),
                "list_ms_median": .number(String(format: "%.1f", percentile(listTimes.sorted(), 0.5))),
                "list_bytes": .number(String(listed)),
                "watch_events": .number(String(sorted.count)),
                "watch_p50_ms": .number(String(format: "%.1f", percentile(sorted, 0.5))),
                "watch_p99_ms": .number(String(format: "%.1f", percentile(sorted, 0.99))),
            ]
        }
    }
}

private let sentMarker = Array("\"bench/sent-ns\":\"".utf8)

/// Finds the send time in a raw event line without parsing the whole event (the benchmark
/// client must not be the bottleneck it measures).
func sentTimestamp(_ line: [UInt8]) -> UInt64? {
    line.withUnsafeBytes { raw -> UInt64? in
        sentMarker.withUnsafeBytes { marker -> UInt64? in
            guard let base = raw.baseAddress, let markerBase = marker.baseAddress else { return nil }
            // memchr for the marker's first byte, memcmp for the rest (Glibc does not export memmem).
            var offset = 0
            var start: Int?
            while offset + marker.count <= raw.count, let hit = memchr(base + offset, Int32(marker[0]), raw.count - offset - marker.count + 1) {
                let position = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(hit, markerBase, marker.count) == 0 {
                    start = position
                    break
                }
                offset = position + 1
            }
            guard let start else { return nil }
            var cursor = start + marker.count
            var value: UInt64 = 0
            while cursor < raw.count, raw[cursor] >= 0x30, raw[cursor] <= 0x39 {
                value = value * 10 + UInt64(raw[cursor] - 0x30)
                cursor += 1
            }
            return value
        }
    }
}
