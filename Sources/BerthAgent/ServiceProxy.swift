import BerthClient
import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation
import Logging

/// Programs this host's Services from the Service and Endpoints objects it watches: every
/// change re-renders the node's service table (`ServiceRules`) and replaces it in one nftables
/// transaction, coalescing bursts of changes into one write.
struct ServiceProxy: Sendable {
    let client: APIClient
    let table: String
    let catalog: ServiceCatalog
    let logger: Logger

    func run() async {
        let (cache, logger, client) = (catalog.cache, self.logger, self.client)
        await withDiscardingTaskGroup { group in
            for kind in [ServiceCatalog.services, ServiceCatalog.endpoints] {
                group.addTask { await cache.watch(kind, client: client, logger: logger) }
            }
            group.addTask { await applyLoop(cache) }
        }
    }

    private func applyLoop(_ cache: ObjectCache) async {
        let applier = TableApplier(logger: logger, what: "service")
        for await _ in cache.changes {
            // Let a burst (a Deployment's pods all becoming ready) land in one write.
            try? await Task.sleep(for: .milliseconds(20))
            guard cache.synced([ServiceCatalog.services, ServiceCatalog.endpoints]) else { continue }
            let objects = cache.snapshot([ServiceCatalog.services, ServiceCatalog.endpoints])
            await applier.apply(ServiceRules.render(Self.entries(services: objects[0], endpoints: objects[1]), table: table))
        }
    }

    /// One entry per service port with a cluster IP, its ready endpoints matched by port name.
    static func entries(services: [String: JSONValue], endpoints: [String: JSONValue]) -> [ServiceEntry] {
        var entries: [ServiceEntry] = []
        for (key, service) in services.sorted(by: { $0.key < $1.key }) {
            guard let spec = service["spec"], spec["type"]?.stringValue != "ExternalName" else { continue }
            let clusterIP = spec["clusterIP"]?.stringValue.flatMap { IPv4.isValid($0) ? $0 : nil }
            let ports = spec["ports"]?.arrayValue ?? []
            let subsets = endpoints[key]?["subsets"]?.arrayValue ?? []
            var affinity: Int?
            if spec["sessionAffinity"]?.stringValue == "ClientIP" {
                affinity = spec["sessionAffinityConfig"]?["clientIP"]?["timeoutSeconds"]?.intValue ?? 10800
            }
            for port in ports {
                guard let number = port["port"]?.intValue else { continue }
                let name = port["name"]?.stringValue ?? ""
                let proto = (port["protocol"]?.stringValue ?? "TCP").lowercased()
                var backends: [ServiceEntry.Endpoint] = []
                for subset in subsets {
                    let subsetPorts = subset["ports"]?.arrayValue ?? []
                    guard let match = subsetPorts.first(where: { ($0["name"]?.stringValue ?? "") == name }) ?? (subsetPorts.count == 1 && ports.count == 1 ? subsetPorts.first : nil),
                          let target = match["port"]?.intValue else { continue }
                    for address in subset["addresses"]?.arrayValue ?? [] {
                        if let ip = address["ip"]?.stringValue, IPv4.isValid(ip) { backends.append(.init(ip: ip, port: target)) }
                    }
                }
                guard clusterIP != nil || port["nodePort"]?.intValue != nil else { continue }
                entries.append(ServiceEntry(name: name.isEmpty ? key : "\(key):\(name)", clusterIP: clusterIP, proto: proto, port: number,
                                            nodePort: port["nodePort"]?.intValue, endpoints: backends.sorted { ($0.ip, $0.port) < ($1.ip, $1.port) },
                                            affinitySeconds: affinity))
            }
        }
        return entries
    }
}
