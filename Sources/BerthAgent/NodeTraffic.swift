import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation
import Logging
import Synchronization

/// Traffic of this node beside its Services: pods reaching the outside world (egress
/// masquerade), pods' `hostPort`s, and the node itself reaching cluster IPs (a route for the
/// service range onto the pod bridge, so a host with no default route can connect and replies
/// come back to the bridge's address).
final class NodeTraffic: Sendable {
    let configuration: AgentConfiguration
    let logger: Logger
    private let hostPorts = Mutex<[String: [HostPortMapping]]>([:])
    private let egressTable: TableApplier
    private let hostPortTable: TableApplier

    init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        egressTable = TableApplier(logger: logger, what: "egress")
        hostPortTable = TableApplier(logger: logger, what: "host port")
    }

    /// Once the node has its pod subnet: the pod bridge with its gateway address (the CNI
    /// bridge plugin adopts it), the service route onto it, and the egress table.
    func start(subnet: IPv4Network) async {
        let bridge = configuration.bridgeName
        // Underlay: the node's range lies in the physical network, which reaches this node's
        // pods through the macvlan shim: the bridge keeps only its address (DNS, services), no route.
        let gateway = "\(IPv4Network.format(subnet.base &+ 1))/\(configuration.networkMode == .underlay ? 32 : subnet.prefixLength)"
        let script = """
            link add \(bridge) type bridge
            addr replace \(gateway) dev \(bridge)
            link set \(bridge) up
            route replace \(configuration.serviceCIDR) dev \(bridge) src \(IPv4Network.format(subnet.base &+ 1)) proto \(CrossHostPlan.routeProtocol)
            """
        // -force: the bridge may exist already (an agent restart, or pods plumbed it first).
        let result = try? await Subprocess.run("/usr/sbin/ip", ["-force", "-batch", "-"], input: Array(script.utf8))
        if result?.succeeded != true, result?.errorText.contains("File exists") != true {
            logger.warning("the service route onto the pod bridge was not set; the node reaches cluster IPs only through its default route",
                           metadata: ["error": "\(result?.errorText.prefix(300) ?? "ip did not run")"])
        }
        // Pods' packets are forwarded by the host.
        try? "1".write(toFile: "/proc/sys/net/ipv4/ip_forward", atomically: false, encoding: .utf8)
        let egress = EgressRules.render(bridge: bridge, clusterRanges: [configuration.clusterCIDR, configuration.serviceCIDR],
                                        masquerade: configuration.egressMasquerade, table: EgressRules.table(bridge: bridge))
        await egressTable.apply(egress)
        await applyHostPorts()
    }

    /// The pod's host ports, now that it has its address (again after an agent restart).
    func publish(podUID: String, podIP: String, spec: PodSpec?) async {
        let mappings = Self.mappings(spec: spec, podIP: podIP)
        let changed = hostPorts.withLock { table -> Bool in
            if mappings.isEmpty { return table.removeValue(forKey: podUID) != nil }
            defer { table[podUID] = mappings }
            return table[podUID] != mappings
        }
        if changed { await applyHostPorts() }
    }

    func withdraw(podUID: String) async {
        if hostPorts.withLock({ $0.removeValue(forKey: podUID) }) != nil { await applyHostPorts() }
    }

    private func applyHostPorts() async {
        let all = hostPorts.withLock { Array($0.values.joined()) }
        await hostPortTable.apply(HostPortRules.render(all, table: HostPortRules.table(bridge: configuration.bridgeName)))
    }

    static func mappings(spec: PodSpec?, podIP: String) -> [HostPortMapping] {
        guard let spec, spec.hostNetwork != true else { return [] }
        var mappings: [HostPortMapping] = []
        for container in spec.containers {
            for port in container.ports ?? [] {
                guard let hostPort = port.hostPort, hostPort > 0 else { continue }
                mappings.append(HostPortMapping(hostIP: port.hostIP, hostPort: Int(hostPort), proto: (port.protocol ?? "TCP").lowercased(),
                                                podIP: podIP, containerPort: Int(port.containerPort)))
            }
        }
        return mappings
    }

    /// The tables this adds, for `berth cleanup`.
    static func tables(bridge: String) -> [String] { [EgressRules.table(bridge: bridge), HostPortRules.table(bridge: bridge)] }
}
