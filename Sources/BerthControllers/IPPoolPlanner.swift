import BerthCore
import BerthNetwork
import Foundation

/// What one IPPool's status and pods should become, computed from the pool and the pods it
/// serves (those labelled with it). Pure, so every rule is tested without a server.
///
/// - A pod keeps the address recorded for it while it exists, also while it terminates (a pod
///   on a dead node may still use it), and gives it back when it is gone or has finished.
/// - A pod that shows an address the status lost (the status was rewritten) gets it back
///   when it is still free.
/// - New pods take the lowest free addresses, oldest pod first; re-created pods of an app
///   therefore come back with the addresses their predecessors had.
/// - The pod's annotation follows the status, never the other way round.
public enum IPPoolPlanner {
    public struct Plan: Equatable, Sendable {
        /// Address → pod name: the pool's new `status.allocations`.
        public var allocations: [String: String]
        /// Pods whose `berth.dev/ip` annotation must be set, with the address.
        public var annotate: [String: String]
        /// Pods that need an address and got none: the pool is exhausted.
        public var waiting: [String]
    }

    public static func plan(pool: IPPool, pods: [Pod]) -> Plan {
        let addresses = pool.spec?.allAddresses ?? []
        let inPool = Set(addresses)
        let live = pods.filter { !PodState.isTerminal($0) }
        let liveNames = Set(live.compactMap(\.metadata.name))
        var held: [UInt32: String] = [:]
        var holders: Set<String> = []
        for (text, pod) in (pool.status?.allocations ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let address = IPv4.parse(text), inPool.contains(address), liveNames.contains(pod), !holders.contains(pod) else { continue }
            held[address] = pod
            holders.insert(pod)
        }
        let ordered = live.sorted { a, b in
            let (x, y) = (a.metadata.creationTimestamp ?? "", b.metadata.creationTimestamp ?? "")
            return x != y ? x < y : (a.metadata.name ?? "") < (b.metadata.name ?? "")
        }
        // Addresses pods already show but the status lost.
        for pod in ordered {
            guard let name = pod.metadata.name, !holders.contains(name),
                  let shown = pod.metadata.annotations?[IPPool.addressAnnotation].flatMap(IPv4.parse),
                  inPool.contains(shown), held[shown] == nil else { continue }
            held[shown] = name
            holders.insert(name)
        }
        var free = addresses.filter { held[$0] == nil }[...]
        var waiting: [String] = []
        for pod in ordered where pod.metadata.deletionTimestamp == nil {
            guard let name = pod.metadata.name, !holders.contains(name) else { continue }
            guard let address = free.popFirst() else {
                waiting.append(name)
                continue
            }
            held[address] = name
            holders.insert(name)
        }
        let byPod = Dictionary(held.map { ($0.value, IPv4Network.format($0.key)) }, uniquingKeysWith: { a, _ in a })
        var annotate: [String: String] = [:]
        for pod in live {
            guard let name = pod.metadata.name, let address = byPod[name],
                  pod.metadata.annotations?[IPPool.addressAnnotation] != address else { continue }
            annotate[name] = address
        }
        return Plan(allocations: Dictionary(uniqueKeysWithValues: held.map { (IPv4Network.format($0.key), $0.value) }),
                    annotate: annotate, waiting: waiting)
    }
}
