import BerthClient
import BerthCore
import Foundation
import Testing
@testable import BerthControllers

/// A shutdown that comes before an informer's first list (the server's listener could not
/// bind, so the whole service group is cancelled at once) must not leave anything waiting for
/// that list: ServiceLifecycle kills a process whose services outlive its cancellation limit.
@Suite("Informer shutdown before the first list", .timeLimit(.minutes(1)))
struct InformerShutdownTests {
    /// An API with nothing behind it: port 1 on loopback refuses every connection, so the
    /// informer keeps retrying its list and never syncs.
    func unreachableAPI() throws -> (ResourceAPI, APIClient) {
        let client = try APIClient(config: Kubeconfig(server: "https://127.0.0.1:1", certificateAuthority: nil, token: "unused"))
        return (ResourceAPI(client: client), client)
    }

    @Test("a cancelled waiter returns although the cache never synced")
    func cancelledWaiterReturns() async throws {
        let (api, client) = try unreachableAPI()
        let pods = Informer<Pod>(ResourceDescriptor.pod, api: api, logger: .init(label: "test"))
        let waiter = Task { await pods.waitForSync() }
        try await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        waiter.cancel()
        await waiter.value
        #expect(ContinuousClock.now - started < .seconds(2))
        await client.shutdown()
    }

    @Test("a waiter already cancelled when it starts does not wait")
    func alreadyCancelledWaiter() async throws {
        let (api, client) = try unreachableAPI()
        let pods = Informer<Pod>(ResourceDescriptor.pod, api: api, logger: .init(label: "test"))
        let waiter = Task {
            while !Task.isCancelled { await Task.yield() }
            await pods.waitForSync()
        }
        waiter.cancel()
        await waiter.value
        await client.shutdown()
    }

    @Test("cancelling controllers that wait on an unsynced informer ends them all")
    func groupOfWaitersEnds() async throws {
        let (api, client) = try unreachableAPI()
        let pods = Informer<Pod>(ResourceDescriptor.pod, api: api, logger: .init(label: "test"))
        let nodes = Informer<Node>(ResourceDescriptor.node, api: api, logger: .init(label: "test"))
        // The shape of ControllerManager: informers and their waiters in one group.
        let controllers = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { await pods.run() }
                group.addTask { await nodes.run() }
                group.addTask {
                    await nodes.waitForSync()
                    await pods.waitForSync()
                }
                group.addTask { await pods.waitForSync() }
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        controllers.cancel()
        await controllers.value
        #expect(ContinuousClock.now - started < .seconds(3))
        await client.shutdown()
    }
}
