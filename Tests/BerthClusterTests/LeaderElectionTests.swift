import BerthClient
import BerthControllers
import BerthCore
import BerthTestSupport
import Foundation
import Synchronization
import Testing

/// Two candidates for one Lease against a real control plane: one leads, the other takes over
/// when the leader stops renewing, and never do both lead at once.
@Suite("leader election", .blockingAllowed)
struct LeaderElectionTests {
    final class Leaders: Sendable {
        let active = Mutex<Set<String>>([])
        let overlaps = Mutex(0)
        let everLed = Mutex<[String]>([])
    }

    @Test("one leader at a time; a silent leader is replaced after the lease duration")
    func failover() async throws {
        let server = BerthServerProcess()
        defer { server.cleanUp() }
        try await server.start()
        let client = try server.client()
        defer { Task { await client.shutdown() } }
        let api = ResourceAPI(client: client)
        let leaders = Leaders()
        func candidate(_ identity: String) -> Task<Void, Never> {
            let election = LeaderElection(api: api, name: "test-election", identity: identity, leaseDuration: .seconds(3),
                                          renewInterval: .milliseconds(300), logger: .init(label: "test"))
            return Task {
                await election.run {
                    let clash = leaders.active.withLock { active in
                        active.insert(identity)
                        return active.count > 1
                    }
                    if clash { leaders.overlaps.withLock { $0 += 1 } }
                    leaders.everLed.withLock { $0.append(identity) }
                    while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
                    leaders.active.withLock { _ = $0.remove(identity) }
                }
            }
        }
        let first = candidate("first")
        try await Task.sleep(for: .seconds(1))
        let second = candidate("second")
        try await Task.sleep(for: .seconds(2))
        #expect(leaders.everLed.withLock { $0 } == ["first"])
        // The first candidate dies without a word: no renewals from now on.
        first.cancel()
        await first.value
        leaders.active.withLock { _ = $0.remove("first") }
        let taken = try await waitFor("second candidate leads", timeout: 15) { () -> Bool? in
            leaders.everLed.withLock { $0 }.contains("second") ? true : nil
        }
        #expect(taken)
        let lease = try await api.get(ResourceDescriptor.lease, namespace: "kube-system", name: "test-election", as: Lease.self)
        #expect(lease?.spec?.holderIdentity == "second")
        #expect((lease?.spec?.leaseTransitions ?? 0) >= 1)
        #expect(leaders.overlaps.withLock { $0 } == 0)
        second.cancel()
        await second.value
    }
}
