import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Synchronization
import Testing
@testable import BerthControllers

/// A shutdown that comes before an informer's first list (the server's listener could not
/// bind, so the whole service group is cancelled at once) must not leave anything waiting for
/// that list: ServiceLifecycle kills a process whose services outlive its cancellation limit.
/// What is checked is that the cancelled tasks end at all (a waiter that ignores cancellation
/// never does), not how fast: on a loaded host the end of a cancelled group took 3.8 s once.
@Suite("Informer shutdown before the first list", .blockingAllowed)
struct InformerShutdownTests {
    /// An API with nothing behind it: port 1 on loopback refuses every connection, so the
    /// informer keeps retrying its list and never syncs.
    func unreachableAPI() throws -> (ResourceAPI, APIClient) {
        let client = try APIClient(config: Kubeconfig(server: "https://127.0.0.1:1", certificateAuthority: nil, token: "unused"))
        return (ResourceAPI(client: client), client)
    }

    /// Whether `task` ends within `limit`. A task that never ends is left behind instead of
    /// hanging the test run, so the old behaviour fails the test rather than stalling CI.
    func ends(_ task: Task<Void, Never>, within limit: Duration = .seconds(60)) async -> Bool {
        let outcome = FirstOutcome()
        return await withCheckedContinuation { continuation in
            outcome.wait(continuation)
            Task { await task.value; outcome.finish(true) }
            Task { try? await Task.sleep(for: limit); outcome.finish(false) }
        }
    }

    /// Resumes its waiter once, with whichever outcome comes first.
    final class FirstOutcome: Sendable {
        private let waiter = Mutex<CheckedContinuation<Bool, Never>?>(nil)
        func wait(_ continuation: CheckedContinuation<Bool, Never>) { waiter.withLock { $0 = continuation } }
        func finish(_ ended: Bool) { waiter.withLock { $0.take() }?.resume(returning: ended) }
    }

    @Test("a cancelled waiter returns although the cache never synced")
    func cancelledWaiterReturns() async throws {
        let (api, client) = try unreachableAPI()
        let pods = Informer<Pod>(ResourceDescriptor.pod, api: api, logger: .init(label: "test"))
        let waiter = Task { await pods.waitForSync() }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        #expect(await ends(waiter))
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
        #expect(await ends(waiter))
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
        controllers.cancel()
        #expect(await ends(controllers))
        await client.shutdown()
    }
}
