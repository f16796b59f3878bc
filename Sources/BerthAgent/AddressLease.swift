import BerthCore
import Foundation

/// Who announces a load-balancer address: the holder of the Lease `lb-A-B-C-D` in
/// `kube-node-lease`. The holder renews it every pass; a node that finds it unrenewed for
/// longer than its duration takes it over, the API server's resourceVersion check letting
/// only one of several contenders win. Pure: the agent does what `decide` says.
enum AddressLease {
    /// Seconds an unrenewed lease stays its holder's. With a pass every 0.4 s, an address
    /// moves at most about 2.5 s after its node died.
    static let durationSeconds = 2
    static let namespace = "kube-node-lease"
    static let prefix = "lb-"

    enum Decision: Equatable {
        case create, renew, takeOver, standBy
    }

    static func name(_ address: String) -> String { prefix + address.replacingOccurrences(of: ".", with: "-") }

    static func decide(_ lease: JSONValue?, node: String, now: Date) -> Decision {
        guard let lease else { return .create }
        let holder = lease.value(at: ["spec", "holderIdentity"])?.stringValue ?? ""
        if holder == node { return .renew }
        if holder.isEmpty { return .takeOver }
        let duration = Double(lease.value(at: ["spec", "leaseDurationSeconds"])?.intValue ?? durationSeconds)
        guard let text = lease.value(at: ["spec", "renewTime"])?.stringValue, let renewed = RFC3339.parse(text) else { return .takeOver }
        return renewed.addingTimeInterval(duration) < now ? .takeOver : .standBy
    }

    /// The lease after `decision` (nil for standBy): this node holding it, renewed now; the
    /// resourceVersion kept, so a concurrent writer makes the write fail rather than both win.
    static func updated(_ lease: JSONValue?, address: String, node: String, now: Date, decision: Decision) -> JSONValue? {
        let stamp = JSONValue.string(RFC3339.microseconds(now))
        switch decision {
        case .standBy:
            return nil
        case .create:
            return [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": ["name": .string(name(address)), "namespace": .string(namespace), "labels": ["berth.dev/load-balancer-address": .string(address)]],
                "spec": ["holderIdentity": .string(node), "leaseDurationSeconds": .number(String(durationSeconds)), "renewTime": stamp,
                         "acquireTime": stamp, "leaseTransitions": 0],
            ]
        case .renew, .takeOver:
            guard var object = lease?.objectValue, var spec = object["spec"]?.objectValue else { return nil }
            spec["renewTime"] = stamp
            spec["leaseDurationSeconds"] = .number(String(durationSeconds))
            if decision == .takeOver {
                spec["holderIdentity"] = .string(node)
                spec["acquireTime"] = stamp
                spec["leaseTransitions"] = .number(String((spec["leaseTransitions"]?.intValue ?? 0) + 1))
            }
            object["spec"] = .object(spec)
            return .object(object)
        }
    }
}
