import BerthTestSupport
import Testing
@testable import BerthCore

/// autoscaling/v1 over the stored v2 object: the CPU target is a field, the rest rides in
/// annotations, and a v1 read-modify-write keeps everything v2 had.
@Suite("HPA v1 and v2", .blockingAllowed)
struct HPAVersionConversionTests {
    func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    @Test func v2WithSeveralMetricsSurvivesARoundTripThroughV1() throws {
        let v2 = try json(#"""
        {"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"default"},
         "spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":9,
           "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}},
                      {"type":"External","external":{"metric":{"name":"queue"},"target":{"type":"AverageValue","averageValue":"20"}}}],
           "behavior":{"scaleDown":{"stabilizationWindowSeconds":60}}},
         "status":{"currentReplicas":3,"desiredReplicas":4,"currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":91}}}],
           "conditions":[{"type":"AbleToScale","status":"True"}]}}
        """#)
        let v1 = HPAVersionConversion.toV1(v2)
        #expect(v1["apiVersion"] == "autoscaling/v1")
        #expect(v1.value(at: ["spec", "targetCPUUtilizationPercentage"]) == 70)
        #expect(v1.value(at: ["status", "currentCPUUtilizationPercentage"]) == 91)
        #expect(v1.value(at: ["metadata", "annotations", "autoscaling.alpha.kubernetes.io/metrics"])?.stringValue?.contains("queue") == true)
        let back = try HPAVersionConversion.toV2(v1)
        #expect(back["spec"] == v2["spec"])
        #expect(back.value(at: ["status", "conditions"]) == v2.value(at: ["status", "conditions"]))
        #expect(back.value(at: ["metadata", "annotations"]) == nil)
    }

    @Test func aPlainV1ObjectBecomesACPUMetricAndBadAnnotationsAreRefused() throws {
        let v1 = try json(#"{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"a"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"a"},"maxReplicas":3,"targetCPUUtilizationPercentage":50}}"#)
        let v2 = try HPAVersionConversion.toV2(v1)
        #expect(v2.value(at: ["spec", "metrics"])?.arrayValue?.first?.value(at: ["resource", "target", "averageUtilization"]) == 50)
        var broken = v1
        broken.set(["autoscaling.alpha.kubernetes.io/metrics": "not json"], at: ["metadata", "annotations"])
        #expect(throws: BerthError.self) { try HPAVersionConversion.toV2(broken) }
    }
}
