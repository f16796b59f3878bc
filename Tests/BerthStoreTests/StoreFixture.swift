import BerthCore
import BerthStore
import BerthTestSupport
import Foundation

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, etcd
    var testDescription: String { rawValue }
}

import Testing

/// A store under test plus whatever it needs (a temporary directory, a real etcd process),
/// torn down by `close()` even when the test failed.
final class StoreFixture: @unchecked Sendable {
    let store: any KeyValueStore
    let directory: URL
    private var etcd: Process?

    static func make(_ kind: StoreKind) async throws -> StoreFixture {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        switch kind {
        case .sqlite:
            return StoreFixture(store: try SQLiteStore(path: directory.appendingPathComponent("state.db").path), directory: directory, etcd: nil)
        case .etcd:
            let (process, endpoint) = try await EtcdProcess.start(dataDirectory: directory.appendingPathComponent("etcd"))
            return StoreFixture(store: EtcdStore(endpoints: [endpoint]), directory: directory, etcd: process)
        }
    }

    private init(store: any KeyValueStore, directory: URL, etcd: Process?) {
        self.store = store
        self.directory = directory
        self.etcd = etcd
    }

    func close() async {
        await store.close()
        if let etcd, etcd.isRunning {
            kill(etcd.processIdentifier, SIGKILL)
            etcd.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Starts a real single-member etcd on free loopback ports and waits until it answers.
enum EtcdProcess {
    static func freePort() -> Int { FreePort.next() }

    static func start(dataDirectory: URL) async throws -> (Process, String) {
        let clientPort = freePort()
        let peerPort = freePort()
        let endpoint = "http://127.0.0.1:\(clientPort)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/etcd")
        process.arguments = [
            "--data-dir", dataDirectory.path, "--name", "test",
            "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
            "--listen-peer-urls", "http://127.0.0.1:\(peerPort)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
            "--initial-cluster", "test=http://127.0.0.1:\(peerPort)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if let revision = try? await EtcdStore(endpoints: [endpoint]).probeRevision(), revision > 0 { return (process, endpoint) }
            try await Task.sleep(for: .milliseconds(100))
        }
        kill(process.processIdentifier, SIGKILL)
        throw BerthError(.unavailable, "failed to start etcd on \(endpoint)")
    }
}

extension EtcdStore {
    func probeRevision() async throws -> Int64 {
        defer { Task { await self.close() } }
        return try await currentRevision()
    }
}
