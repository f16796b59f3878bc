import BerthClient
import BerthCore
import BerthNetwork
import Foundation
import Logging
import Synchronization

/// Watches the Node objects and keeps this host's cross-host entries in line with them: every
/// other node with a pod subnet and an InternalIP is a peer; a node deleted is a peer gone.
/// Simulated nodes (`berth.dev/simulated`) have no host to reach and are skipped.
struct PeerWatcher: Sendable {
    let client: APIClient
    let host: HostNetwork
    let selfName: String
    let logger: Logger

    static func peer(_ node: JSONValue) -> PeerNode? {
        guard let name = node["metadata"]?["name"]?.stringValue,
              node["metadata"]?["labels"]?["berth.dev/simulated"]?.stringValue != "true",
              let subnet = node["spec"]?["podCIDR"]?.stringValue.flatMap(IPv4Network.init),
              let address = node["status"]?["addresses"]?.arrayValue?
                .first(where: { $0["type"]?.stringValue == "InternalIP" })?["address"]?.stringValue.flatMap(IPv4.parse)
        else { return nil }
        return PeerNode(name: name, address: address, podSubnet: subnet)
    }

    func run() async {
        let peers = Mutex<[String: PeerNode]>([:])
        let (host, selfName) = (self.host, self.selfName)
        await ListWatch(client: client, path: "/api/v1/nodes", logger: logger).run { items in
            let found = Dictionary(items.compactMap(Self.peer).filter { $0.name != selfName }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            peers.withLock { $0 = found }
            await host.sync(Array(found.values))
        } onEvent: { type, object in
            guard let name = object["metadata"]?["name"]?.stringValue, name != selfName else { return }
            let next = Self.peer(object)
            // Heartbeats modify every node every few seconds: only a changed peer is work.
            let changed = peers.withLock { current -> [PeerNode]? in
                let value = type == "DELETED" ? nil : next
                guard current[name] != value else { return nil }
                current[name] = value
                return Array(current.values)
            }
            if let changed { await host.sync(changed) }
        }
    }
}
