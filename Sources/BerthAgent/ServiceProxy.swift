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
    /// The devices pod traffic crosses hosts on (the underlay, the VXLAN device).
    let host: HostNetwork?
    let logger: Logger
    /// Told the addresses of LoadBalancer Services after each change.
    let announcer: LoadBalancerAnnouncer?
    /// This node, for `externalTrafficPolicy: Local`.
    let nodeName: String?
    /// Devices `route_localnet` is wanted on, once the service table (with its guard) is in force.
    private let localnet = LocalnetDevices()

    final class LocalnetDevices: Sendable {
        private let value = Mutex<[String]>([])
        var devices: [String] { value.withLock { $0 } }
        func set(_ devices: [String]) { value.withLock { $0 = devices } }
    }

    /// Underlay mode: the pods' own namespaces, where their traffic to cluster IPs is DNATed
    /// (it never passes the node).
    let podTables: PodTables?

    init(client: APIClient, table: String, catalog: ServiceCatalog, bridge: String, host: HostNetwork? = nil,
         announcer: LoadBalancerAnnouncer? = nil, nodeName: String? = nil, podTables: PodTables? = nil, logger: Logger) {
        self.podTables = podTables
        self.announcer = announcer
        self.nodeName = nodeName
        self.client = client
        self.table = table
        self.catalog = catalog
        self.bridge = bridge
        self.host = host
        self.logger = logger
    }

    func run() async {
        let (cache, logger, client) = (catalog.cache, self.logger, self.client)
        await withDiscardingTaskGroup { group in
            for kind in [ServiceCatalog.services, ServiceCatalog.endpoints] {
                group.addTask { await cache.watch(kind, client: client, logger: logger) }
            }
            group.addTask { await applyLoop(cache) }
            group.addTask { await localnetLoop() }
        }
    }

    /// The pod bridge appears with the first pod (and again after a cleanup): `route_localnet`
    /// is checked every few seconds.
    private func localnetLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(2))
            Self.enableLocalnet(devices: localnet.devices, logger: logger)
        }
    }

    private func applyLoop(_ cache: ObjectCache) async {
        let applier = TableApplier(logger: logger, what: "service")
        for await _ in cache.changes {
            // Let a burst (a Deployment's pods all becoming ready) land in one write.
            try? await Task.sleep(for: .milliseconds(20))
            guard cache.synced([ServiceCatalog.services, ServiceCatalog.endpoints]) else { continue }
            let objects = cache.snapshot([ServiceCatalog.services, ServiceCatalog.endpoints])
            let entries = Self.entries(services: objects[0], endpoints: objects[1], node: nodeName)
            // A Local service's address is announced only by nodes with an endpoint of it.
            await announcer?.want(Set(entries.filter { $0.localEndpoints?.isEmpty != true }.flatMap(\.loadBalancerIPs)))
            let rendered = ServiceRules.render(entries, table: table)
            await podTables?.publish("services", rendered)
            guard await applier.apply(rendered) else { continue }
            // With the guard in force: the bridge always (pods reaching a loopback endpoint, the
            // node reaching a host port through 127.0.0.1), the cross-host devices while node
            // ports exist (the node reaching a node port through 127.0.0.1, endpoint elsewhere).
            var devices = [bridge]
            if entries.contains(where: { $0.nodePort != nil }), let host {
                if let underlay = await host.underlay()?.name, underlay != "lo" { devices.append(underlay) }
                if host.mode == .vxlan { devices.append(CrossHostPlan.vxlanDevice) }
            }
            localnet.set(devices)
            Self.enableLocalnet(devices: devices, logger: logger)
        }
    }

    /// Lets connections DNATed from or to a loopback address be routed off the host: pods'
    /// connections to the API server of `berth up` on 127.0.0.1 (behind the `kubernetes`
    /// Service), and the node's own connections to `127.0.0.1:NODEPORT` or a host port, which
    /// leave masqueraded. The service table's `localnet-guard` drops anything else addressed to
    /// 127.0.0.0/8 from outside the host (as kube-proxy guards it, CVE-2020-8558). Per device,
    /// so nothing else on the host changes; the setting goes with the device.
    static func enableLocalnet(devices: [String], logger: Logger) {
        for device in devices {
            let setting = "/proc/sys/net/ipv4/conf/\(device)/route_localnet"
            guard FileManager.default.fileExists(atPath: setting), (try? String(contentsOfFile: setting, encoding: .utf8))?.hasPrefix("1") != true else { continue }
            if (try? "1".write(toFile: setting, atomically: false, encoding: .utf8)) == nil {
                logger.warning("cannot enable route_localnet on \(device): connections through 127.0.0.1 to services and host ports fail")
            }
        }
    }

    /// The addresses a LoadBalancer Service shows in `status.loadBalancer.ingress`.
    static func loadBalancerAddresses(_ service: JSONValue) -> [String] {
        guard service["spec"]?["type"]?.stringValue == "LoadBalancer" else { return [] }
        return (service.value(at: ["status", "loadBalancer", "ingress"])?.arrayValue ?? []).compactMap { $0["ip"]?.stringValue }.filter(IPv4.isValid)
    }

    /// One entry per service port with a cluster IP, its ready endpoints matched by port name.
    /// `node`: this node's name, for `externalTrafficPolicy: Local` (nil: no local endpoints).
    static func entries(services: [String: JSONValue], endpoints: [String: JSONValue], node: String? = nil) -> [ServiceEntry] {
        var entries: [ServiceEntry] = []
        for (key, service) in services.sorted(by: { $0.key < $1.key }) {
            guard let spec = service["spec"], spec["type"]?.stringValue != "ExternalName" else { continue }
            let clusterIP = spec["clusterIP"]?.stringValue.flatMap { IPv4.isValid($0) ? $0 : nil }
            let ports = spec["ports"]?.arrayValue ?? []
            let externalIPs = (spec["externalIPs"]?.arrayValue ?? []).compactMap { $0.stringValue }.filter(IPv4.isValid)
            // Answered as external IPs are, on the node announcing them, from the source ranges.
            let loadBalancerIPs = loadBalancerAddresses(service)
            let sourceRanges = (spec["loadBalancerSourceRanges"]?.arrayValue ?? []).compactMap { $0.stringValue }.filter { IPv4Network($0) != nil }
            let local = spec["externalTrafficPolicy"]?.stringValue == "Local"
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
                var localBackends: [ServiceEntry.Endpoint] = []
                for subset in subsets {
                    let subsetPorts = subset["ports"]?.arrayValue ?? []
                    guard let match = subsetPorts.first(where: { ($0["name"]?.stringValue ?? "") == name }) ?? (subsetPorts.count == 1 && ports.count == 1 ? subsetPorts.first : nil),
                          let target = match["port"]?.intValue else { continue }
                    for address in subset["addresses"]?.arrayValue ?? [] {
                        guard let ip = address["ip"]?.stringValue, IPv4.isValid(ip) else { continue }
                        backends.append(.init(ip: ip, port: target))
                        if let node, address["nodeName"]?.stringValue == node { localBackends.append(.init(ip: ip, port: target)) }
                    }
                }
                guard clusterIP != nil || port["nodePort"]?.intValue != nil || !externalIPs.isEmpty || !loadBalancerIPs.isEmpty else { continue }
                entries.append(ServiceEntry(name: name.isEmpty ? key : "\(key):\(name)", clusterIP: clusterIP, proto: proto, port: number,
                                            nodePort: port["nodePort"]?.intValue, endpoints: backends.sorted { ($0.ip, $0.port) < ($1.ip, $1.port) },
                                            affinitySeconds: affinity, externalIPs: externalIPs,
                                            loadBalancerIPs: loadBalancerIPs, sourceRanges: sourceRanges,
                                            localEndpoints: local ? localBackends.sorted { ($0.ip, $0.port) < ($1.ip, $1.port) } : nil))
            }
        }
        return entries
    }
}
