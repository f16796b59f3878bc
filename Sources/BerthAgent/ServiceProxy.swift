import BerthClient
import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation
import Logging
import Synchronization

/// Programs this host's Services from the Service and Endpoints objects it watches: every
/// change re-renders the node's service table (`ServiceRules`) and replaces it in one nftables
/// transaction, coalescing bursts of changes into one write.
struct ServiceProxy: Sendable {
    let client: APIClient
    let table: String
    let catalog: ServiceCatalog
    let bridge: String
    let logger: Logger
    /// Whether the last rendered table had a loopback endpoint.
    private let wantsLocalnet = LocalnetFlag()

    final class LocalnetFlag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .relaxed) }
        func set(_ flag: Bool) { value.store(flag, ordering: .relaxed) }
    }

    init(client: APIClient, table: String, catalog: ServiceCatalog, bridge: String, logger: Logger) {
        self.client = client
        self.table = table
        self.catalog = catalog
        self.bridge = bridge
        self.logger = logger
    }

    func run() async {
        let (cache, logger, client) = (catalog.cache, self.logger, self.client)
        await withDiscardingTaskGroup { group in
            for kind in [ServiceCatalog.services, ServiceCatalog.endpoints] {
                group.addTask { await cache.watch(kind, client: client, logger: logger) }
            }
            group.addTask { await applyLoop(cache) }
            group.addTask { await localnetLoop(cache) }
        }
    }

    /// The pod bridge appears with the first pod (and again after a cleanup): while a service
    /// has a loopback endpoint, its `route_localnet` is checked every few seconds.
    private func localnetLoop(_ cache: ObjectCache) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(2))
            if wantsLocalnet.isSet { Self.enableLocalnet(bridge: bridge, logger: logger) }
        }
    }

    private func applyLoop(_ cache: ObjectCache) async {
        let applier = TableApplier(logger: logger, what: "service")
        for await _ in cache.changes {
            // Let a burst (a Deployment's pods all becoming ready) land in one write.
            try? await Task.sleep(for: .milliseconds(20))
            guard cache.synced([ServiceCatalog.services, ServiceCatalog.endpoints]) else { continue }
            let objects = cache.snapshot([ServiceCatalog.services, ServiceCatalog.endpoints])
            let entries = Self.entries(services: objects[0], endpoints: objects[1])
            let localnet = ServiceRules.needsLocalnet(entries)
            wantsLocalnet.set(localnet)
            if localnet { Self.enableLocalnet(bridge: bridge, logger: logger) }
            await applier.apply(ServiceRules.render(entries, table: table))
        }
    }

    /// Lets pods' connections DNATed to a loopback endpoint (the API server of `berth up` on
    /// 127.0.0.1, behind the `kubernetes` Service) be delivered; the service table's
    /// `localnet-guard` drops anything else addressed to 127.0.0.0/8 from outside the host.
    /// On this agent's pod bridge only (pods' packets enter the host there), so nothing else on
    /// the host changes, and the setting goes with the bridge.
    static func enableLocalnet(bridge: String, logger: Logger) {
        let setting = "/proc/sys/net/ipv4/conf/\(bridge)/route_localnet"
        guard FileManager.default.fileExists(atPath: setting), (try? String(contentsOfFile: setting, encoding: .utf8))?.hasPrefix("1") != true else { return }
        if (try? "1".write(toFile: setting, atomically: false, encoding: .utf8)) == nil {
            logger.warning("cannot enable route_localnet on \(bridge): pods will not reach services whose endpoints are on 127.0.0.1")
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
