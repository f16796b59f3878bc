import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthAPIServer
@testable import BerthClient

/// Repeats of an event are one Event counted up, as client-go's correlator makes them.
@Suite("Event recorder", .blockingAllowed)
struct EventRecorderTests {
    @Test("a repeat counts the first Event up; another message, object or reason is another Event; a deleted Event is recreated")
    func repeatsAreCounted() async throws {
        try await APIHarness.run(token: "secret") { harness, _ in
            let client = try InProcessTransportTests.client(harness.server, token: "secret")
            do {
                try await Self.checkCounting(client)
            } catch {
                await client.shutdown()
                throw error
            }
            await client.shutdown()
        }
    }

    static func checkCounting(_ client: APIClient) async throws {
        let recorder = EventRecorder(client: client)
        let pod = ObjectReferenceValue(kind: "Pod", apiVersion: "v1", namespace: "default", name: "web", uid: "u1")
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for second in 0..<5 {
            await recorder.record(about: pod, reason: "BackOff", message: "Back-off restarting failed container main", type: "Warning",
                                  component: "kubelet", host: "node-1", now: start.addingTimeInterval(Double(second * 10)))
        }
        await recorder.record(about: pod, reason: "BackOff", message: "Back-off restarting failed container side", type: "Warning", component: "kubelet", host: "node-1")
        await recorder.record(about: pod, reason: "Started", message: "Started container main", component: "kubelet", host: "node-1")
        let list = try await client.request(.GET, "/api/v1/namespaces/default/events").checked().json()
        let events = list["items"]?.arrayValue ?? []
        #expect(events.count == 3)
        let backOff = try #require(events.first { $0["message"] == "Back-off restarting failed container main" })
        #expect(backOff["count"]?.intValue == 5)
        #expect(backOff["firstTimestamp"] == .string(TableCells.formatTimestamp(start)))
        #expect(backOff["lastTimestamp"] == .string(TableCells.formatTimestamp(start.addingTimeInterval(40))))
        #expect(backOff.value(at: ["source", "component"]) == "kubelet" && backOff.value(at: ["source", "host"]) == "node-1")

        let name = try #require(backOff.value(at: ["metadata", "name"])?.stringValue)
        _ = try await client.request(.DELETE, "/api/v1/namespaces/default/events/\(name)").checked()
        await recorder.record(about: pod, reason: "BackOff", message: "Back-off restarting failed container main", type: "Warning", component: "kubelet", host: "node-1")
        let again = try await client.request(.GET, "/api/v1/namespaces/default/events").checked().json()["items"]?.arrayValue ?? []
        #expect(again.count == 3)
        #expect(again.first { $0["message"] == "Back-off restarting failed container main" }?["count"]?.intValue == 1)
    }
}
