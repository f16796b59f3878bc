import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The client side of watches: events are read as the consumer asks for them, and a consumer
/// that stops iterating closes the connection (nothing keeps reading in the background).
@Suite("watch client", .serialized, .blockingAllowed)
struct WatchClientTests {
    /// Established TCP connections of this process to `port` (socket inodes of our descriptors
    /// matched against /proc/net/tcp).
    static func connections(to port: Int) -> Int {
        var inodes: Set<String> = []
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"), target.hasPrefix("socket:[") {
                inodes.insert(String(target.dropFirst(8).dropLast()))
            }
        }
        let hexPort = String(format: ":%04X", port)
        // /proc files report size 0: read to the end, not by size (a single read stops at a page).
        let table = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/net/tcp")).readToEnd()).flatMap { String(data: $0 ?? Data(), encoding: .utf8) } ?? ""
        return table.split(separator: "\n").dropFirst().filter { line in
            let fields = line.split(separator: " ")
            return fields.count > 9 && fields[2].hasSuffix(hexPort) && fields[3] == "01" && inodes.contains(String(fields[9]))
        }.count
    }

    static func waitForConnections(to port: Int, atMost limit: Int) async throws -> Int {
        var open = connections(to: port)
        for _ in 0..<100 where open > limit {
            try await Task.sleep(for: .milliseconds(100))
            open = connections(to: port)
        }
        return open
    }

    @Test("events arrive in order as the consumer reads; leaving the loop closes the watch connection")
    func consumerDrivenWatch() async throws {
        let server = BerthServerProcess()
        defer { server.cleanUp() }
        try await server.start()
        let writer = try server.client()
        let watcher = try server.client()
        let path = writer.path(.configMap, namespace: "default")
        let start = try await writer.request(.GET, path).checked().json()
        let revision = try #require(start.value(at: ["metadata", "resourceVersion"])?.stringValue)
        let events = try await watcher.watch(path + "?watch=true&resourceVersion=\(revision)")
        for index in 0..<50 {
            _ = try await writer.request(.POST, path, body: JSONWriter.bytes(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string("w-\(index)")]])).checked()
        }
        // A closing client sends TLS close_notify and waits up to 5 s (NIOSSL's shutdown timeout)
        // for the server's before the socket goes: allow for that.
        await writer.shutdown()
        #expect(try await Self.waitForConnections(to: server.port, atMost: 1) == 1, "the watch holds the only connection left")
        func firstFifty(_ events: WatchEvents) async throws -> [String] {
            var names: [String] = []
            for try await event in events {
                // Only this test's: the root CA publisher may add kube-root-ca.crt to a namespace
                // after the list the watch started from (it starts late on a busy host).
                let name = event.value(at: ["object", "metadata", "name"])?.stringValue ?? ""
                if name.hasPrefix("w-") { names.append(name) }
                if names.count == 50 { break }
            }
            return names
        }
        #expect(try await firstFifty(events) == (0..<50).map { "w-\($0)" })
        #expect(try await Self.waitForConnections(to: server.port, atMost: 0) == 0, "the watch connection closes once the consumer leaves the loop")
        await watcher.shutdown()
    }
}
