import BerthCore
import BerthTestSupport
import Foundation
import Synchronization
import Testing
@testable import BerthControllers

@Suite("Controller runtime: work queue, retry limiter, node health", .blockingAllowed)
struct ControllerRuntimeTests {
    @Test("a key added many times is queued once; one added while in progress comes back once after done")
    func deduplication() async {
        let queue = WorkQueue()
        for _ in 0..<5 { queue.add("a") }
        queue.add("b")
        #expect(queue.length == 2)
        let first = await queue.next()
        #expect(first == "a")
        queue.add("a")
        queue.add("a")
        #expect(queue.length == 1, "a is in progress: not queued again yet")
        queue.done("a")
        #expect(queue.length == 2)
        #expect(await queue.next() == "b")
        #expect(await queue.next() == "a")
        queue.done("a")
        queue.done("b")
        #expect(queue.length == 0)
        queue.shutDown()
        #expect(await queue.next() == nil)
    }

    @Test("a ranked queue hands out higher ranks first, FIFO within a rank, negative ranks last; still deduplicated")
    func ranking() async {
        let ranks: [String: Int32] = ["urgent": 10, "high": 5, "high-2": 5, "low": -1]
        let queue = WorkQueue(rank: { ranks[$0] ?? 0 })
        for key in ["plain", "low", "high", "plain-2", "urgent", "high-2", "high"] { queue.add(key) }
        #expect(queue.length == 6)
        var order: [String] = []
        for _ in 0..<6 {
            guard let key = await queue.next() else { break }
            order.append(key)
            queue.done(key)
        }
        #expect(order == ["urgent", "high", "high-2", "plain", "plain-2", "low"])
        #expect(queue.length == 0)
        // A ranked key added while in progress comes back after done, ahead of rank 0.
        queue.add("plain")
        queue.add("high")
        #expect(await queue.next() == "high")
        queue.add("high")
        queue.add("plain-2")
        queue.done("high")
        #expect(await queue.next() == "high")
        #expect(await queue.next() == "plain")
        queue.shutDown()
    }

    @Test("workers never handle one key at the same time")
    func noConcurrentKey() async {
        let queue = WorkQueue()
        let active = Box<Set<String>>([])
        let overlaps = Box(0)
        let handled = Box(0)
        await withDiscardingTaskGroup { group in
            for _ in 0..<4 {
                group.addTask {
                    while let key = await queue.next() {
                        let clash = active.value.withLock { !$0.insert(key).inserted }
                        if clash { overlaps.value.withLock { $0 += 1 } }
                        try? await Task.sleep(for: .milliseconds(1))
                        active.value.withLock { _ = $0.remove(key) }
                        handled.value.withLock { $0 += 1 }
                        queue.done(key)
                    }
                }
            }
            group.addTask {
                for round in 0..<200 { queue.add("key-\(round % 3)"); await Task.yield() }
                try? await Task.sleep(for: .milliseconds(100))
                queue.shutDown()
            }
        }
        #expect(overlaps.value.withLock { $0 } == 0)
        #expect(handled.value.withLock { $0 } >= 3)
    }

    @Test("retry backoff doubles per key up to the cap, resets on forget, and the bucket bounds bursts")
    func retryBackoff() {
        var limiter = RetryRateLimiter()
        limiter.maximumDelay = .milliseconds(100)
        let now = ContinuousClock.now
        let delays = (0..<7).map { _ in limiter.delay(for: "k", now: now) }
        #expect(delays == [.milliseconds(5), .milliseconds(10), .milliseconds(20), .milliseconds(40), .milliseconds(80), .milliseconds(100), .milliseconds(100)])
        _ = limiter.forget("k")
        #expect(limiter.delay(for: "k", now: now) == .milliseconds(5))
        // 100 tokens of burst are spent (8 above); further retries in the same instant wait for refills.
        var bucket = RetryRateLimiter()
        for index in 0..<100 { _ = bucket.delay(for: "x\(index)", now: now) }
        #expect(bucket.delay(for: "late", now: now) >= .milliseconds(99))
        #expect(bucket.delay(for: "later", now: now + .seconds(10)) == .milliseconds(5))
    }

    @Test("node health: lost after the grace, evicted after the timeout, recovered when renewing again")
    func nodeHealth() {
        var tracker = NodeHealthTracker(grace: .seconds(10), evictionTimeout: .seconds(10))
        let start = ContinuousClock.now
        tracker.observe(node: "n", renewTime: "t1", now: start)
        #expect(tracker.judge(node: "n", markedLost: false, now: start + .seconds(5)) == .healthy)
        tracker.observe(node: "n", renewTime: "t2", now: start + .seconds(5))
        // The same renewTime seen again does not count as a renewal.
        tracker.observe(node: "n", renewTime: "t2", now: start + .seconds(14))
        #expect(tracker.judge(node: "n", markedLost: false, now: start + .seconds(14)) == .healthy)
        #expect(tracker.judge(node: "n", markedLost: false, now: start + .seconds(16)) == .lost)
        #expect(tracker.judge(node: "n", markedLost: true, now: start + .seconds(25)) == .lost)
        #expect(tracker.judge(node: "n", markedLost: true, now: start + .seconds(26)) == .evict)
        tracker.observe(node: "n", renewTime: "t3", now: start + .seconds(40))
        #expect(tracker.judge(node: "n", markedLost: true, now: start + .seconds(41)) == .recovered)
        #expect(tracker.judge(node: "n", markedLost: false, now: start + .seconds(42)) == .healthy)
        // A node with no lease at all is given the grace from when it is first judged.
        #expect(tracker.judge(node: "new", markedLost: false, now: start) == .healthy)
        #expect(tracker.judge(node: "new", markedLost: false, now: start + .seconds(11)) == .lost)
    }

    @Test("template hashes are stable and differ per template and collision count")
    func templateHash() throws {
        let template = try BerthCore.JSONValue.object(["metadata": ["labels": ["app": "web"]], "spec": ["containers": [["name": "c", "image": "v1"]]]]).decode(BerthCore.PodTemplateSpec.self)
        var other = template
        other.spec?.containers[0].image = "v2"
        let hash = DeploymentRevisions.templateHash(template, collisionCount: nil)
        #expect(hash == DeploymentRevisions.templateHash(template, collisionCount: nil))
        #expect(hash != DeploymentRevisions.templateHash(other, collisionCount: nil))
        #expect(hash != DeploymentRevisions.templateHash(template, collisionCount: 1))
        #expect(hash.allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) })
    }
}

final class Box<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ initial: T) { value = Mutex(initial) }
}
