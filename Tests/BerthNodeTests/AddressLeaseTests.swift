@testable import BerthAgent
import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("load-balancer address leases", .blockingAllowed)
struct AddressLeaseTests {
    static func lease(holder: String, renewed: Date, duration: Int = AddressLease.durationSeconds) -> JSONValue {
        ["metadata": ["name": "lb-100-72-200-100", "namespace": "kube-node-lease", "resourceVersion": "7"],
         "spec": ["holderIdentity": .string(holder), "leaseDurationSeconds": .number(String(duration)),
                  "renewTime": .string(RFC3339.microseconds(renewed)), "leaseTransitions": 2]]
    }

    @Test("create when absent, renew our own, stand by while another's is fresh, take over once it lapsed")
    func decisions() throws {
        let now = Date()
        #expect(AddressLease.decide(nil, node: "n1", now: now) == .create)
        #expect(AddressLease.decide(Self.lease(holder: "n1", renewed: now.addingTimeInterval(-10)), node: "n1", now: now) == .renew)
        #expect(AddressLease.decide(Self.lease(holder: "n2", renewed: now.addingTimeInterval(-1)), node: "n1", now: now) == .standBy)
        #expect(AddressLease.decide(Self.lease(holder: "n2", renewed: now.addingTimeInterval(-2.5)), node: "n1", now: now) == .takeOver)
        #expect(AddressLease.decide(Self.lease(holder: "", renewed: now), node: "n1", now: now) == .takeOver)

        let taken = try #require(AddressLease.updated(Self.lease(holder: "n2", renewed: now.addingTimeInterval(-5)), address: "100.72.200.100",
                                                      node: "n1", now: now, decision: .takeOver))
        #expect(taken.value(at: ["spec", "holderIdentity"])?.stringValue == "n1")
        #expect(taken.value(at: ["spec", "leaseTransitions"])?.intValue == 3)
        #expect(taken.value(at: ["metadata", "resourceVersion"])?.stringValue == "7", "kept, so a concurrent writer conflicts")
        let created = try #require(AddressLease.updated(nil, address: "100.72.200.100", node: "n1", now: now, decision: .create))
        #expect(created.value(at: ["metadata", "name"])?.stringValue == "lb-100-72-200-100")
        #expect(AddressLease.updated(nil, address: "100.72.200.100", node: "n1", now: now, decision: .standBy) == nil)
    }
}
