import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Synchronization
import Testing

/// The embedded store under bad luck: a full disk, a damaged file, and a backup taken while
/// writes go on, restored elsewhere.
@Suite("store faults and backups", .serialized, .blockingAllowed)
struct StoreFaultTests {
    static let writesPerWriter = 500

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    static func configMap(_ name: String, bytes: Int = 16) -> [UInt8] {
        JSONWriter.bytes(["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name)],
                          "data": ["v": .string(String(repeating: "x", count: bytes))]])
    }

    static func names(_ list: JSONValue) -> [String: String] {
        var result: [String: String] = [:]
        for item in list["items"]?.arrayValue ?? [] {
            if let name = item.value(at: ["metadata", "name"])?.stringValue {
                result[name] = item.value(at: ["metadata", "resourceVersion"])?.stringValue
            }
        }
        return result
    }

    /// A backup while 4 writers create ConfigMaps, restored into a fresh data directory: the
    /// restored cluster serves exactly the objects at the backup's revision, with their
    /// resourceVersions, and trusts the old admin credential.
    @Test func aBackupTakenDuringWritesRestoresTheSameObjectsAndRevisions() async throws {
        let original = BerthServerProcess()
        try await original.start()
        defer { original.cleanUp() }
        let client = try original.client()
        let backup = original.dataDirectory + ".backup.db"
        defer { try? FileManager.default.removeItem(atPath: backup) }
        let acknowledged = Counter()
        let backupRevision = Counter()
        let written = try await withThrowingTaskGroup(of: Int.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var count = 0
                    for index in 0..<Self.writesPerWriter {
                        let reply = try await client.request(.POST, "/api/v1/namespaces/default/configmaps", body: Self.configMap("w\(writer)-\(index)"))
                        if reply.status == 201 {
                            count += 1
                            acknowledged.value.add(1, ordering: .relaxed)
                        }
                    }
                    return count
                }
            }
            group.addTask {
                // Once the writes are well under way, not at a fixed time: hosts differ.
                while acknowledged.value.load(ordering: .relaxed) < 200 { try await Task.sleep(for: .milliseconds(5)) }
                let result = try runCommand(BerthServerProcess.binary, ["backup", "--out", backup, "--data-dir", original.dataDirectory])
                #expect(result.status == 0, "\(result)")
                // "backed up revision N (…)"
                let words = result.output.split(separator: " ")
                if let index = words.firstIndex(of: "revision"), index + 1 < words.count, let revision = Int(words[index + 1]) {
                    backupRevision.value.store(revision, ordering: .relaxed)
                }
                return 0
            }
            return try await group.reduce(0, +)
        }
        #expect(written == 4 * Self.writesPerWriter)
        let after = try await client.request(.GET, "/api/v1/namespaces/default/configmaps").json()
        await client.shutdown()

        let restoredDirectory = original.dataDirectory + "-restored"
        let restore = try runCommand(BerthServerProcess.binary, ["restore", backup, "--data-dir", restoredDirectory])
        #expect(restore.status == 0, "\(restore)")
        let restored = BerthServerProcess(dataDirectory: restoredDirectory)
        try await restored.start()
        defer { restored.cleanUp() }
        let restoredClient = try restored.client()
        let list = try await restoredClient.request(.GET, "/api/v1/namespaces/default/configmaps").json()
        await restoredClient.shutdown()
        // The backup's own revision (the restored server writes on from there as it starts).
        let revision = Int64(backupRevision.value.load(ordering: .relaxed))
        #expect(revision > 0)
        let backedUp = Self.names(list)
        // Taken during the writes: some, not all, of them.
        #expect(backedUp.count >= 200 && backedUp.count < 4 * Self.writesPerWriter, "the backup holds \(backedUp.count) of \(4 * Self.writesPerWriter)")
        // Exactly the objects the original had at that revision, with the same versions.
        let expected = Self.names(after).filter { (Int64($0.value) ?? .max) <= revision }
        #expect(backedUp == expected)
        // The same identity: the original's admin token is accepted.
        let oldToken = try String(contentsOfFile: original.dataDirectory + "/admin.token", encoding: .utf8)
        let newToken = try String(contentsOfFile: restoredDirectory + "/admin.token", encoding: .utf8)
        #expect(oldToken == newToken)
        // A second restore into the same directory is refused, and changes nothing.
        let again = try runCommand(BerthServerProcess.binary, ["restore", backup, "--data-dir", restoredDirectory])
        #expect(again.status != 0 && again.error.contains("exists"), "\(again)")
    }

    @Test func scheduledBackupsKeepTheNewest() async throws {
        let server = BerthServerProcess(extraArguments: ["--backup-interval", "1s", "--backup-keep", "2"])
        try await server.start()
        defer { server.cleanUp() }
        let directory = server.dataDirectory + "/backups"
        var backups: [String] = []
        for _ in 0..<100 {
            try await Task.sleep(for: .milliseconds(100))
            backups = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".db") }
            if backups.count == 2, (try? FileManager.default.contentsOfDirectory(atPath: directory))?.count ?? 0 >= 2 { break }
        }
        // Let at least one more interval pass: still two, the oldest pruned.
        try await Task.sleep(for: .seconds(2.5))
        let later = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".db") }.sorted()
        #expect(later.count == 2, "\(later)")
        #expect(later != backups.sorted(), "no newer backup after 2.5 s: \(later)")
        let bad = try runCommand(BerthServerProcess.binary, ["server", "--data-dir", server.dataDirectory + "-x", "--backup-interval", "soon"])
        #expect(bad.status != 0 && bad.error.contains("--backup-interval soon"), "\(bad)")
    }

    @Test func aDamagedStoreIsRefusedWithTheWayBack() async throws {
        let server = BerthServerProcess()
        try await server.start()
        defer { server.cleanUp() }
        let client = try server.client()
        for index in 0..<50 { _ = try await client.request(.POST, "/api/v1/namespaces/default/configmaps", body: Self.configMap("c\(index)", bytes: 2000)) }
        await client.shutdown()
        server.stop()
        // Overwrite the first table's root page (8 KB pages: page 2) with garbage.
        let handle = try #require(FileHandle(forUpdatingAtPath: server.dataDirectory + "/state.db"))
        try handle.seek(toOffset: 8192)
        try handle.write(contentsOf: Data(repeating: 0xDE, count: 8192))
        try handle.close()
        let result = try runCommand(BerthServerProcess.binary, ["server", "--data-dir", server.dataDirectory, "--listen", "127.0.0.1:\(FreePort.next())"], timeout: 60)
        #expect(result.status != 0)
        #expect(result.error.contains("state.db is damaged"), "\(result.error)")
        #expect(result.error.contains("berth restore"), "\(result.error)")
    }

    /// A 24 MB filesystem on a loop device, filled but for 1.5 MB: writes get 507 and change
    /// nothing, reads go on, and once space is freed writes succeed again.
    @Test func aFullDiskRefusesWritesAndRecovers() async throws {
        let filesystem = try LoopFilesystem.mount(megabytes: 24)
        defer { filesystem.remove() }
        let server = BerthServerProcess(dataDirectory: filesystem.mountPoint + "/data")
        try await server.start()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { await client.shutdown() } }
        // Leave 1.5 MB.
        try filesystem.fill(leaving: 1_500_000)
        var statuses: [Int] = []
        var message = ""
        for index in 0..<20 {
            let reply = try await client.request(.POST, "/api/v1/namespaces/default/configmaps", body: Self.configMap("big\(index)", bytes: 200_000))
            statuses.append(reply.status)
            if reply.status != 201 { message = (try? reply.json()["message"]?.stringValue) ?? "" ?? "" }
        }
        #expect(statuses.contains(507), "\(statuses)")
        #expect(!statuses.contains(500), "\(statuses)")
        #expect(message.contains("insufficient storage"), "\(message)")
        let stored = statuses.filter { $0 == 201 }.count
        // Reads work, and hold exactly what was acknowledged.
        let list = try await client.request(.GET, "/api/v1/namespaces/default/configmaps")
        #expect(list.status == 200)
        #expect(Self.names(try list.json()).filter { $0.key != "kube-root-ca.crt" }.count == stored)
        try FileManager.default.removeItem(atPath: filesystem.fillerPath)
        let after = try await client.request(.POST, "/api/v1/namespaces/default/configmaps", body: Self.configMap("after", bytes: 200_000))
        #expect(after.status == 201)
    }
}
