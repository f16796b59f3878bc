import BerthCore
import BerthTestSupport
import Testing
@testable import BerthMetrics

/// Cases after Kubernetes' replica_calculator_test.go.
@Suite("Replica calculator", .blockingAllowed)
struct ReplicaCalculatorTests {
    func pods(_ usage: [Double?], request: Double = 1, ready: [Bool]? = nil) -> [PodMetricSample] {
        usage.enumerated().map { index, value in
            PodMetricSample(name: "p\(index)", countsAsReady: ready?[index] ?? true, usage: value, request: request)
        }
    }

    @Test func scalesUpByTheRatio() throws {
        let proposal = try ReplicaCalculator.utilization(current: 3, pods: pods([0.9, 1.0, 1.1]), targetPercent: 30)
        #expect(proposal == ReplicaProposal(replicas: 10, utilization: 100, value: 100))
    }

    @Test func staysWithinTheTolerance() throws {
        let proposal = try ReplicaCalculator.utilization(current: 3, pods: pods([1.05, 1.05, 1.05]), targetPercent: 100)
        #expect(proposal.replicas == 3)
        #expect(proposal.utilization == 105)
    }

    @Test func scalesDown() throws {
        let proposal = try ReplicaCalculator.utilization(current: 5, pods: pods([0.1, 0.1, 0.2, 0.1, 0.1], request: 1), targetPercent: 50)
        #expect(proposal.replicas == 2)
    }

    @Test func missingPodsCountAsIdleWhenScalingUpAndAtTargetWhenScalingDown() throws {
        // Up: 2 measured at 100 % of a 50 % target, 2 missing assumed 0 → ratio 1.0 → no change.
        #expect(try ReplicaCalculator.utilization(current: 4, pods: pods([1, 1, nil, nil]), targetPercent: 50).replicas == 4)
        // Down: measured at 10 %, missing assumed at 100 % of request: the scale-down is smaller.
        let down = try ReplicaCalculator.utilization(current: 4, pods: pods([0.1, 0.1, nil, nil]), targetPercent: 50)
        #expect(down.replicas == 4)
    }

    @Test func unreadyPodsDoNotDriveAScaleUp() throws {
        let proposal = try ReplicaCalculator.utilization(current: 3, pods: pods([0.9, 0.9, 2.0], ready: [true, true, false]), targetPercent: 50)
        // Ready pods at 90 % of a 50 % target; the unready one counted idle: (1.8 / 3 = 60 %) → ceil(1.2 × 3) = 4.
        #expect(proposal.replicas == 4)
    }

    @Test func refusesWithoutRequestsOrSamples() {
        #expect(throws: ReplicaCalculator.Failure.missingRequest(pod: "p0")) {
            try ReplicaCalculator.utilization(current: 1, pods: [PodMetricSample(name: "p0", usage: 1, request: nil)], targetPercent: 50)
        }
        #expect(throws: ReplicaCalculator.Failure.noSamples) {
            try ReplicaCalculator.utilization(current: 1, pods: pods([nil]), targetPercent: 50)
        }
    }

    @Test func averageValuesAndObjectValues() throws {
        #expect(try ReplicaCalculator.averageValue(current: 2, pods: pods([30, 50]), target: 10).replicas == 8)
        #expect(ReplicaCalculator.value(current: 2, readyPods: 2, value: 300, target: 100).replicas == 6)
        #expect(ReplicaCalculator.value(current: 2, readyPods: 2, value: 105, target: 100).replicas == 2)
        #expect(ReplicaCalculator.totalOverAverage(current: 2, value: 500, targetAverage: 100).replicas == 5)
    }
}

@Suite("Scaling behaviour", .blockingAllowed)
struct ScalingBehaviorTests {
    @Test func defaultPoliciesLimitAScaleUpToFourPodsOrDoubleEvery15Seconds() {
        let plan = ScalingBehaviorPlan(behavior: nil, minimum: 1, maximum: 100)
        var recommendations: [ScalingBehaviorPlan.Recommendation] = []
        let decision = plan.decide(proposed: 40, current: 2, now: 1000, recommendations: &recommendations, events: [])
        #expect(decision.replicas == 6)
        #expect(decision.limitedReason == "ScaleUpLimit")
        let later = plan.decide(proposed: 40, current: 6, now: 1005, recommendations: &recommendations,
                                events: [ScalingBehaviorPlan.ScaleEvent(time: 1000, change: 4)])
        // Within the period 4 were added: the period started at 2; max(2 + 4, 2 × 2) = 6.
        #expect(later.replicas == 6)
    }

    @Test func aScaleDownWaitsForItsStabilizationWindow() {
        let behavior = HPABehavior(scaleUp: nil, scaleDown: HPAScalingRules(stabilizationWindowSeconds: 60))
        let plan = ScalingBehaviorPlan(behavior: behavior, minimum: 1, maximum: 10)
        var recommendations: [ScalingBehaviorPlan.Recommendation] = []
        #expect(plan.decide(proposed: 5, current: 5, now: 1000, recommendations: &recommendations, events: []).replicas == 5)
        #expect(plan.decide(proposed: 1, current: 5, now: 1030, recommendations: &recommendations, events: []).replicas == 5)
        #expect(plan.decide(proposed: 1, current: 5, now: 1061, recommendations: &recommendations, events: []).replicas == 1)
    }

    @Test func boundsAndDisabledDirections() {
        let plan = ScalingBehaviorPlan(behavior: HPABehavior(scaleUp: HPAScalingRules(selectPolicy: "Disabled"), scaleDown: nil), minimum: 2, maximum: 4)
        var recommendations: [ScalingBehaviorPlan.Recommendation] = []
        #expect(plan.decide(proposed: 9, current: 3, now: 0, recommendations: &recommendations, events: []).replicas == 3)
        let open = ScalingBehaviorPlan(behavior: nil, minimum: 2, maximum: 4)
        var fresh: [ScalingBehaviorPlan.Recommendation] = []
        let decision = open.decide(proposed: 9, current: 3, now: 0, recommendations: &fresh, events: [])
        #expect(decision == ScalingBehaviorPlan.Decision(replicas: 4, limitedReason: "TooManyReplicas",
                                                         limitedMessage: "the desired replica count is more than the maximum replica count"))
    }
}
