import BerthCore
import BerthTestSupport
import Testing
@testable import BerthScheduler

@Suite("Preemption", .blockingAllowed)
struct PreemptionTests {
    func pod(_ name: String, cpu: String, priority: Int, node: String? = nil, spec: [String: JSONValue] = [:]) -> Pod {
        var extra = spec
        extra["priority"] = .number(String(priority))
        return Fixture.pod(name, cpu: cpu, node: node, spec: extra)
    }

    func plan(_ result: PreemptionResult) -> (node: String, victims: [String])? {
        guard case .preempt(let plan) = result else { return nil }
        return (plan.nodeName, plan.victims.map(\.name).sorted())
    }

    func message(_ result: PreemptionResult) -> String? {
        if case .impossible(let message) = result { return message }
        return nil
    }

    @Test("the fewest, least important victims: lower priority only, the more important ones spared")
    func fewestLeastImportant() {
        let snapshot = SchedulingSnapshot(nodes: [Fixture.node("a", cpu: "4"), Fixture.node("b", cpu: "4")], pods: [
            pod("a-low", cpu: "2", priority: 10, node: "a"), pod("a-mid", cpu: "2", priority: 50, node: "a"),
            pod("b-high", cpu: "2", priority: 200, node: "b"), pod("b-mid", cpu: "2", priority: 60, node: "b"),
        ])
        let preemptor = pod("urgent", cpu: "2", priority: 100)
        #expect(Fixture.message(Fixture.schedule(preemptor, snapshot)) == "0/2 nodes are available: 2 Insufficient cpu.")
        // On a, one victim of priority 10 is enough (a-mid is spared); on b only b-mid (60) could go.
        let result = Scheduler().preemption(for: preemptor, in: snapshot)
        #expect(plan(result)?.node == "a")
        #expect(plan(result)?.victims == ["a-low"])
        // Needing 4 cpu, a gives up both of its pods; b cannot (b-high outranks the preemptor).
        let bigger = Scheduler().preemption(for: pod("bigger", cpu: "4", priority: 100), in: snapshot)
        #expect(plan(bigger)?.node == "a")
        #expect(plan(bigger)?.victims == ["a-low", "a-mid"])
    }

    @Test("node choice: lowest top victim priority, then lowest sum, then fewest victims")
    func nodeChoice() {
        // a: one victim of 40; b: two victims of 5 each — b's most important victim ranks lower.
        let snapshot = SchedulingSnapshot(nodes: [Fixture.node("a", cpu: "2"), Fixture.node("b", cpu: "2")], pods: [
            pod("a-one", cpu: "2", priority: 40, node: "a"),
            pod("b-one", cpu: "1", priority: 5, node: "b"), pod("b-two", cpu: "1", priority: 5, node: "b"),
        ])
        #expect(plan(Scheduler().preemption(for: pod("p", cpu: "2", priority: 100), in: snapshot))?.node == "b")
        // Same top priority on both: the smaller sum (one pod) wins.
        let even = SchedulingSnapshot(nodes: [Fixture.node("a", cpu: "2"), Fixture.node("b", cpu: "2")], pods: [
            pod("a-one", cpu: "2", priority: 5, node: "a"),
            pod("b-one", cpu: "1", priority: 5, node: "b"), pod("b-two", cpu: "1", priority: 5, node: "b"),
        ])
        let chosen = plan(Scheduler().preemption(for: pod("p", cpu: "2", priority: 100), in: even))
        #expect(chosen?.node == "a" && chosen?.victims == ["a-one"])
    }

    @Test("no victims: equal or higher priority, taints and selectors are not helped, preemptionPolicy Never")
    func impossible() {
        let snapshot = SchedulingSnapshot(nodes: [
            Fixture.node("full", cpu: "2"), Fixture.node("gpu", cpu: "2", taints: [Fixture.taint("dedicated", "gpu")]),
        ], pods: [pod("peer", cpu: "2", priority: 100, node: "full"), pod("gpu-user", cpu: "2", priority: 0, node: "gpu")])
        let same = Scheduler().preemption(for: pod("p", cpu: "1", priority: 100), in: snapshot)
        #expect(message(same) == "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.")
        let never = pod("p", cpu: "1", priority: 1000, spec: ["preemptionPolicy": "Never"])
        #expect(message(Scheduler().preemption(for: never, in: snapshot)) == "preemption: not eligible due to preemptionPolicy=Never.")
        // Evicting everything of lower priority still leaves too little.
        let huge = Scheduler().preemption(for: pod("p", cpu: "3", priority: 1000), in: snapshot)
        #expect(message(huge) == "preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.")
        let tolerant = pod("p", cpu: "1", priority: 1000, spec: ["tolerations": [["key": "dedicated", "operator": "Exists"]]])
        let tolerated = plan(Scheduler().preemption(for: tolerant, in: snapshot))
        #expect(tolerated?.node == "gpu" && tolerated?.victims == ["gpu-user"], "priority 0 goes before priority 100")
    }

    @Test("disruption budgets: the node whose evictions break none wins; on a node, protected pods are spared first")
    func budgets() throws {
        func labelled(_ name: String, app: String, node: String, priority: Int = 1, cpu: String = "2") -> Pod {
            var pod = self.pod(name, cpu: cpu, priority: priority, node: node)
            pod.metadata.labels = ["app": app]
            return pod
        }
        func budget(_ app: String, allowed: Int) throws -> PreemptionBudget {
            let json: JSONValue = ["metadata": ["name": .string(app), "namespace": "default"],
                                   "spec": ["selector": ["matchLabels": ["app": .string(app)]]], "status": ["disruptionsAllowed": .number(String(allowed))]]
            return try #require(PreemptionBudget(try json.decode(PodDisruptionBudget.self)))
        }
        // Node a's pod is cheaper (priority 1 against 5) but its budget allows no disruption.
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("a", cpu: "2"), Fixture.node("b", cpu: "2")], pods: [
            labelled("guarded", app: "db", node: "a", priority: 1), labelled("free", app: "batch", node: "b", priority: 5),
        ])
        let preemptor = pod("p", cpu: "2", priority: 100)
        #expect(plan(Scheduler().preemption(for: preemptor, in: snapshot))?.node == "a", "without budgets the cheaper victim")
        snapshot.budgets = [try budget("db", allowed: 0)]
        #expect(plan(Scheduler().preemption(for: preemptor, in: snapshot))?.node == "b")
        // A budget is no hard stop: with every node guarded, a guarded pod still goes.
        snapshot.budgets.append(try budget("batch", allowed: 0))
        #expect(plan(Scheduler().preemption(for: preemptor, in: snapshot))?.node == "a")

        // One node, two lower pods, either of which frees enough: the unguarded one goes even
        // though it ranks higher.
        var single = SchedulingSnapshot(nodes: [Fixture.node("n", cpu: "4")], pods: [
            labelled("guarded", app: "db", node: "n", priority: 1), labelled("plain", app: "batch", node: "n", priority: 5),
        ])
        single.budgets = [try budget("db", allowed: 0)]
        #expect(plan(Scheduler().preemption(for: preemptor, in: single))?.victims == ["plain"])
        single.budgets = [try budget("db", allowed: 1)]
        #expect(plan(Scheduler().preemption(for: preemptor, in: single))?.victims == ["guarded"], "a budget with room to spare protects nothing")
    }

    @Test("host ports: the pod holding the port is the victim")
    func hostPorts() {
        let snapshot = SchedulingSnapshot(nodes: [Fixture.node("n", cpu: "8")], pods: [
            Fixture.pod("holder", node: "n", spec: ["priority": 1], hostPort: 8080), pod("other", cpu: "1", priority: 1, node: "n"),
        ])
        let preemptor = Fixture.pod("p", spec: ["priority": 50], hostPort: 8080)
        #expect(plan(Scheduler().preemption(for: preemptor, in: snapshot))?.victims == ["holder"])
    }

    @Test("a nomination holds room against others and is never a victim; binding ends it")
    func nominations() {
        var snapshot = SchedulingSnapshot(nodes: [Fixture.node("n", cpu: "4")], pods: [pod("low", cpu: "3", priority: 0, node: "n")])
        let preemptor = pod("urgent", cpu: "3", priority: 100)
        guard case .preempt(let chosen) = Scheduler().preemption(for: preemptor, in: snapshot) else {
            Issue.record("expected a preemption")
            return
        }
        snapshot.nominate(PodSummary(preemptor), on: chosen.nodeIndex)
        #expect(snapshot.nominated == [PodSummary(preemptor).uid])
        // Held room is not a placement: the scheduler still has to schedule the pod.
        #expect(snapshot.isPlaced(uid: PodSummary(preemptor).uid) && !snapshot.isAssumed(uid: PodSummary(preemptor).uid))
        snapshot.forget(uid: "uid-default-low") // the victim is gone
        // The room is held: a small pod of lower priority does not fit in it...
        #expect(Fixture.message(Fixture.schedule(pod("small", cpu: "2", priority: 0), snapshot)) == "0/1 nodes are available: 1 Insufficient cpu.")
        // ...and a more important pod does not evict the nominated one.
        #expect(message(Scheduler().preemption(for: pod("vip", cpu: "2", priority: 1000), in: snapshot))
                == "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")
        // The preemptor's own room does not stand in its way once its nomination is dropped.
        snapshot.forget(uid: PodSummary(preemptor).uid)
        #expect(snapshot.nominated.isEmpty)
        #expect(Fixture.placedNode(Fixture.schedule(preemptor, snapshot)) == "n")
        var bound = preemptor
        bound.spec?.nodeName = "n"
        snapshot.nominate(PodSummary(preemptor), on: 0)
        snapshot.place(bound)
        #expect(snapshot.nominated.isEmpty && snapshot.isAssumed(uid: PodSummary(preemptor).uid))
    }
}
