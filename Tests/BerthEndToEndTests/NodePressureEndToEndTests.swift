import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension MonitoringEndToEnd {
    /// Real memory pressure on `berth up`: with `memory.available` set 1 GiB below what the
    /// host has free, a BestEffort pod that fills 2 GiB drives the node into MemoryPressure
    /// (condition and NoSchedule taint), is evicted first — Failed/Evicted with an Event — while
    /// a Guaranteed pod keeps running, and the pressure lifts once its memory is back.
    @Suite("node pressure and eviction on berth up", .blockingAllowed)
    struct NodePressureEndToEndTests {
        static func memoryAvailableKiB() -> Int {
            let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
            let line = text.split(separator: "\n").first { $0.hasPrefix("MemAvailable:") } ?? ""
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }

        @Test func aPodFillingMemoryIsEvictedUnderMemoryPressure() async throws {
            let threshold = Self.memoryAvailableKiB() - 1_048_576
            try #require(threshold > 2_097_152, "the host needs a few GiB free")
            let fixture = MonitoringFixture(extraArguments: ["--eviction-hard", "memory.available<\(threshold)Ki", "--eviction-pressure-transition-period", "10s"])
            defer { fixture.stop() }
            try await fixture.start()
            let pods = """
            apiVersion: v1
            kind: Pod
            metadata: {name: steady, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - {name: c, image: berth/busybox:latest, command: [sleep, "3600"], resources: {requests: {cpu: 50m, memory: 32Mi}, limits: {cpu: 50m, memory: 32Mi}}}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: hog, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: c
                image: berth/busybox:latest
                command: [awk, 'BEGIN { while (i < 550000) { a[i] = sprintf("%04000d", i); i++ }; system("sleep 3600") }']
            """
            #expect(try await fixture.kubectl(["apply", "-f", "-"], input: pods).status == 0)
            var sawCondition = false, sawTaint = false
            let evicted = try await waitFor("the hog evicted", timeout: 180) { () -> String? in
                let condition = try await fixture.kubectl(["get", "node", "metrics-node", "-o", #"jsonpath={.status.conditions[?(@.type=="MemoryPressure")].status}"#]).output
                if condition == "True" { sawCondition = true }
                let taints = try await fixture.kubectl(["get", "node", "metrics-node", "-o", "jsonpath={.spec.taints[*].key}"]).output
                if taints.contains("node.kubernetes.io/memory-pressure") { sawTaint = true }
                let status = try await fixture.kubectl(["get", "pod", "hog", "-o", "jsonpath={.status.phase}/{.status.reason}/{.status.message}"]).output
                return status.hasPrefix("Failed/Evicted/") ? status : nil
            }
            #expect(evicted.contains("The node was low on resource: memory."), "\(evicted)")
            // The condition and the taint last the transition period after the eviction.
            _ = try await waitFor("MemoryPressure and its taint seen", timeout: 30) { () -> Bool? in
                if try await fixture.kubectl(["get", "node", "metrics-node", "-o", #"jsonpath={.status.conditions[?(@.type=="MemoryPressure")].status}"#]).output == "True" { sawCondition = true }
                if try await fixture.kubectl(["get", "node", "metrics-node", "-o", "jsonpath={.spec.taints[*].key}"]).output.contains("node.kubernetes.io/memory-pressure") { sawTaint = true }
                return sawCondition && sawTaint ? true : nil
            }
            let events = try await fixture.kubectl(["get", "events", "--field-selector", "involvedObject.name=hog,reason=Evicted", "-o", "jsonpath={.items[*].message}"]).output
            #expect(events.contains("low on resource: memory"), "\(events)")
            #expect(try await fixture.kubectl(["get", "pod", "steady", "-o", "jsonpath={.status.phase}"]).output == "Running")
            // Memory back: the condition and the taint go after the transition period.
            _ = try await waitFor("the pressure lifted", timeout: 60) { () -> Bool? in
                let condition = try await fixture.kubectl(["get", "node", "metrics-node", "-o", #"jsonpath={.status.conditions[?(@.type=="MemoryPressure")].status}"#]).output
                let taints = try await fixture.kubectl(["get", "node", "metrics-node", "-o", "jsonpath={.spec.taints[*].key}"]).output
                return condition == "False" && !taints.contains("memory-pressure") ? true : nil
            }
        }
    }
}
