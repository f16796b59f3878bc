import BerthCore
@testable import BerthScheduler
import Testing

/// Which node and pod changes send the pods that fit nowhere back to the scheduler early.
struct RetryTriggerTests {
    @Test func aNodeBecomingReadyOrSchedulableMayHelp() {
        #expect(RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a", ready: false), new: Fixture.node("a")))
        #expect(RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a", unschedulable: true), new: Fixture.node("a")))
    }

    @Test func aNodeLosingReadinessOrBeingCordonedDoesNot() {
        #expect(!RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a"), new: Fixture.node("a", ready: false)))
        #expect(!RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a"), new: Fixture.node("a", unschedulable: true)))
        #expect(!RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a"), new: Fixture.node("a", taints: [Fixture.taint(TaintKeys.unreachable)])))
    }

    @Test func aHeartbeatThatChangesNothingDoesNot() {
        #expect(!RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a"), new: Fixture.node("a")))
        let tainted = [Fixture.taint("dedicated", "gpu")]
        #expect(!RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a", taints: tainted), new: Fixture.node("a", taints: tainted)))
    }

    @Test func aRemovedTaintNewLabelsOrMoreRoomMayHelp() {
        #expect(RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a", taints: [Fixture.taint("dedicated", "gpu")]), new: Fixture.node("a")))
        #expect(RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a", taints: [Fixture.taint("dedicated", "gpu", effect: "NoExecute")]),
                                                new: Fixture.node("a", taints: [Fixture.taint("dedicated", "gpu")])))
        #expect(RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a"), new: Fixture.node("a", labels: ["disk": "ssd"])))
        #expect(RetryTriggers.nodeUpdateMayHelp(old: Fixture.node("a", cpu: "4"), new: Fixture.node("a", cpu: "8")))
    }

    @Test func roomFreedOnALostOrCordonedNodeIsNotUsable() {
        #expect(RetryTriggers.freedRoomIsUsable(on: NodeInfo(node: Fixture.node("a"))))
        #expect(RetryTriggers.freedRoomIsUsable(on: NodeInfo(node: Fixture.node("a", taints: [Fixture.taint("dedicated", "gpu")]))))
        #expect(!RetryTriggers.freedRoomIsUsable(on: NodeInfo(node: Fixture.node("a", ready: false))))
        #expect(!RetryTriggers.freedRoomIsUsable(on: NodeInfo(node: Fixture.node("a", taints: [Fixture.taint(TaintKeys.unreachable, effect: "NoExecute")]))))
        #expect(!RetryTriggers.freedRoomIsUsable(on: NodeInfo(node: Fixture.node("a", unschedulable: true))))
    }
}
