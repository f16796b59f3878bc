import BerthClient
import BerthCore
import BerthNetwork
import Foundation
import Logging
import Synchronization

/// Watches the pods IPPools serve (selected by their pool label) and tells the host network
/// where each fixed address lives now: the node of the pod holding it, while that pod has not
/// finished. A pod that moved changes its address's route on every host within one watch event.
struct FixedAddressWatcher: Sendable {
    let client: APIClient
    let host: HostNetwork
    let logger: Logger

    /// The address and node of a pod, when it holds a fixed address on a node.
    static func placement(_ pod: JSONValue) -> (uid: String, address: UInt32, node: String, leaving: Bool)? {
        guard let uid = pod["metadata"]?["uid"]?.stringValue,
              let address = pod["metadata"]?["annotations"]?[IPPool.addressAnnotation]?.stringValue.flatMap(IPv4.parse),
              let node = pod["spec"]?["nodeName"]?.stringValue, !node.isEmpty,
              !["Succeeded", "Failed"].contains(pod["status"]?["phase"]?.stringValue ?? "") else { return nil }
        return (uid, address, node, pod["metadata"]?["deletionTimestamp"] != nil)
    }

    func run() async {
        let byPod = Mutex<[String: (address: UInt32, node: String, leaving: Bool)]>([:])
        let host = self.host
        @Sendable func current() -> [UInt32: String] {
            byPod.withLock { pods in
                // Two pods may show one address for a moment (the old one terminating on a dead
                // node): the route follows the one that is not leaving.
                var result: [UInt32: String] = [:]
                for value in pods.values.sorted(by: { $0.leaving && !$1.leaving }) { result[value.address] = value.node }
                return result
            }
        }
        let path = "/api/v1/pods?labelSelector=\(IPPool.poolLabel)"
        await ListWatch(client: client, path: path, logger: logger).run { items in
            let found = items.compactMap(Self.placement)
            byPod.withLock { $0 = Dictionary(found.map { ($0.uid, ($0.address, $0.node, $0.leaving)) }, uniquingKeysWith: { a, _ in a }) }
            await host.place(current())
        } onEvent: { type, object in
            guard let uid = object["metadata"]?["uid"]?.stringValue else { return }
            let next = type == "DELETED" ? nil : Self.placement(object)
            let changed = byPod.withLock { pods -> Bool in
                let old = pods[uid]
                pods[uid] = next.map { ($0.address, $0.node, $0.leaving) }
                return old?.address != next?.address || old?.node != next?.node || old?.leaving != next?.leaving
            }
            if changed { await host.place(current()) }
        }
    }
}
