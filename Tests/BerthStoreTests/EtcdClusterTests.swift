import BerthCore
import BerthStore
import BerthTestSupport
import Foundation
import Synchronization
import Testing

/// A 3-member etcd cluster on loopback loses a member, then its leader, while writes go on
/// and a watch is open: every acknowledged write stays, and the watch delivers every revision
/// once, in order, across the losses.
@Suite("etcd cluster member and leader loss", .serialized, .blockingAllowed)
struct EtcdClusterTests {
    struct Member {
        let name: String
        let clientURL: String
        let process: Process
    }

    static func startCluster(in directory: String) throws -> [Member] {
        let names = ["m0", "m1", "m2"]
        let clientPorts = names.map { _ in FreePort.next() }
        let peerPorts = names.map { _ in FreePort.next() }
        let initial = zip(names, peerPorts).map { "\($0)=http://127.0.0.1:\($1)" }.joined(separator: ",")
        var members: [Member] = []
        for (index, name) in names.enumerated() {
            let client = "http://127.0.0.1:\(clientPorts[index])", peer = "http://127.0.0.1:\(peerPorts[index])"
            let process = try Process.startQuietly("/usr/bin/etcd", [
                "--name", name, "--data-dir", directory + "/" + name,
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", "berth-test",
                "--heartbeat-interval", "100", "--election-timeout", "1000",
            ])
            members.append(Member(name: name, clientURL: client, process: process))
        }
        return members
    }

    /// The member whose id is the leader, asked through the JSON gateway.
    static func leader(of members: [Member]) async -> Int? {
        for (index, member) in members.enumerated() where member.process.isRunning {
            let store = EtcdStore(endpoints: [member.clientURL])
            defer { Task { await store.close() } }
            guard let status = try? await store.memberStatus() else { continue }
            if status.memberID == status.leaderID { return index }
        }
        return nil
    }

    final class Log: Sendable {
        let acknowledged = Mutex<[String: Int64]>([:])
        let failures = Atomic<Int>(0)
    }

    @Test func writesAndAWatchSurviveLosingAMemberThenTheLeader() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-etcd3-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let members = try Self.startCluster(in: directory)
        defer {
            for member in members { member.process.killAndWait() }
            try? FileManager.default.removeItem(atPath: directory)
        }
        let store = EtcdStore(endpoints: members.map(\.clientURL))
        // Closed on every path: a store dropped open (a failed expectation under load threw past
        // the closes) brings the whole test process down in its HTTP client's deinit.
        var watchStore: EtcdStore?
        do {
            let firstLeader = try await waitFor("the etcd cluster to elect a leader", timeout: 60) { await Self.leader(of: members) }
            let follower = (firstLeader + 1) % members.count
            let start = try await store.currentRevision()
            // The watch is served by the member killed first, so it must move to another.
            let watching = EtcdStore(endpoints: [members[follower].clientURL] + members.indices.filter { $0 != follower }.map { members[$0].clientURL })
            watchStore = watching
            let watch = try await watching.watch(prefix: "/registry/ha/", after: start)
            let log = Log()
            func write(_ range: Range<Int>) async {
                for index in range {
                    let key = "/registry/ha/k\(index)"
                    // A write that fails (no leader for a moment) is retried; only acknowledged
                    // ones are counted.
                    for _ in 0..<50 {
                        if let result = try? await store.txn(if: [], then: [.put(key: key, value: Array("v\(index)".utf8), lease: 0)], else: []) {
                            log.acknowledged.withLock { $0[key] = result.revision }
                            break
                        }
                        log.failures.add(1, ordering: .relaxed)
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            await write(0..<50)
            // A follower first (the one serving the watch).
            members[follower].process.killAndWait()
            await write(50..<100)
            // Then the leader: the remaining member cannot form a quorum alone, so bring the
            // follower back first (a real cluster's operator would too), then kill the leader.
            let restarted = try Process.startQuietly("/usr/bin/etcd", members[follower].process.arguments!.map { $0 == "new" ? "existing" : $0 })
            defer { restarted.killAndWait() }
            var survivors = members
            survivors[follower] = Member(name: members[follower].name, clientURL: members[follower].clientURL, process: restarted)
            await write(100..<130)
            let leader = try #require(await Self.leader(of: survivors))
            survivors[leader].process.killAndWait()
            await write(130..<200)

            let acknowledged = log.acknowledged.withLock { $0 }
            #expect(acknowledged.count == 200, "only \(acknowledged.count) of 200 writes acknowledged")
            // Every acknowledged write is there.
            let stored = try await store.range(from: "/registry/ha/", to: KeyRange.prefixEnd("/registry/ha/"), limit: 0, revision: 0)
            #expect(Set(stored.kvs.map(\.key)) == Set(acknowledged.keys))
            // The watch delivered each acknowledged revision once, in order, across both losses.
            let expected = Set(acknowledged.values)
            let collector = Task {
                var seen: [Int64] = []
                for try await batch in watch {
                    seen += batch.map(\.kv.modRevision)
                    if Set(seen).isSuperset(of: expected) { break }
                }
                return seen
            }
            // A missed revision must fail the test, not hang it.
            let deadline = Task {
                try await Task.sleep(for: .seconds(60))
                collector.cancel()
            }
            let seen = try await collector.value
            deadline.cancel()
            #expect(seen == seen.sorted(), "the watch went back in time")
            #expect(Set(seen).count == seen.count, "the watch repeated revisions")
            #expect(Set(seen).isSuperset(of: expected), "the watch missed \(expected.subtracting(seen).count) revisions")
        } catch {
            await store.close()
            await watchStore?.close()
            throw error
        }
        await store.close()
        await watchStore?.close()
    }
}
