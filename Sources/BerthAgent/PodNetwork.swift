import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation
import Logging
import Synchronization

/// The pod's network namespace, plumbed by the standard CNI plugins: `loopback` for `lo`, `bridge`
/// with `static` IPAM for `eth0`, fed by Berth's own allocator over this node's pod subnet.
/// Pods route everything through their node (the bridge's address is their default gateway);
/// what leaves the cluster's ranges is masqueraded by the node (`NodeTraffic`, `EgressRules`).
final class PodNetwork: Sendable {
    let configuration: AgentConfiguration

    /// The node's subnet, the pods' MTU and who holds which address; set once the node has its
    /// subnet and the host network is prepared.
    struct Addressing {
        var pool: PodAddressPool
        var mtu: Int
        /// The IPv4 BIG TCP size of the pod path (`BigTCP`), nil when not used.
        var offloadSize: UInt32?
    }
    private let addressing = Mutex<Addressing?>(nil)
    /// Underlay mode: the uplink and physical network pods attach to (`attachUnderlay`).
    struct Underlay: Sendable {
        var interface: String
        var network: IPv4Network
        var gateway: UInt32?
    }
    private let underlay = Mutex<Underlay?>(nil)
    /// Each pod's veth, MAC and address, for the anti-spoofing table.
    private let ports = Mutex<[String: PodPort]>([:])
    /// Pods whose namespace this agent has just created: nothing is plumbed in them yet, so
    /// `attach` need not ask for an address left from before a restart.
    private let freshNamespaces = Mutex<Set<String>>([])
    private let spoofTable: TableApplier
    /// Underlay mode: policy and service tables in the pods' own namespaces.
    let podTables: PodTables
    /// Egress, host ports and the node's own route to services.
    let traffic: NodeTraffic
    let logger: Logger

    init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        traffic = NodeTraffic(configuration: configuration, logger: logger)
        spoofTable = TableApplier(logger: logger, what: "anti-spoofing")
        podTables = PodTables(logger: logger)
    }

    /// Finds the pod's port on the bridge (the host end of its veth, through eth0's peer index)
    /// and lets only its own MAC and address out of it.
    func guardPort(podUID: String, ip: String) async {
        let namespace = Self.namespaceName(podUID: podUID)
        guard let inside = try? await Subprocess.run("/usr/sbin/ip", ["-n", namespace, "-j", "link", "show", "eth0"]), inside.succeeded,
              let link = (try? JSONParser.parse(inside.standardOutput))?.arrayValue?.first,
              let mac = link["address"]?.stringValue, let peer = link["link_index"]?.intValue,
              let host = try? await Subprocess.run("/usr/sbin/ip", ["-j", "link", "show"]), host.succeeded,
              let name = (try? JSONParser.parse(host.standardOutput))?.arrayValue?.first(where: { $0["ifindex"]?.intValue == peer })?["ifname"]?.stringValue
        else {
            logger.warning("could not find the pod's bridge port; its traffic is not checked for spoofing", metadata: ["pod": "\(podUID)"])
            return
        }
        ports.withLock { $0[podUID] = PodPort(interface: name, mac: mac, ip: ip) }
        await applySpoofTable()
    }

    /// The same from the bridge plugin's result, which names the host end of the veth and the
    /// pod's MAC: two `ip` processes fewer on every pod start. Falls back to asking the kernel.
    func guardPort(podUID: String, ip: String, bridgeResult: JSONValue) async {
        let inPod = (bridgeResult["interfaces"]?.arrayValue ?? []).first { !($0["sandbox"]?.stringValue ?? "").isEmpty }
        guard let mac = inPod?["mac"]?.stringValue?.lowercased(), let name = hostEnd(bridgeResult: bridgeResult) else {
            return await guardPort(podUID: podUID, ip: ip)
        }
        ports.withLock { $0[podUID] = PodPort(interface: name, mac: mac, ip: ip) }
        await applySpoofTable()
    }

    /// The host end of the pod's veth, as the bridge plugin's result names it.
    private func hostEnd(bridgeResult: JSONValue) -> String? {
        let interfaces = bridgeResult["interfaces"]?.arrayValue ?? []
        let onHost = interfaces.first { ($0["sandbox"]?.stringValue ?? "").isEmpty && $0["name"]?.stringValue != configuration.bridgeName }
        return onHost?["name"]?.stringValue
    }

    /// BIG TCP on the pod's part of the path: both ends of its veth and the bridge (which the
    /// first pod's plumbing creates). A failure costs speed, not connectivity: logged, not thrown.
    private func raiseOffloadSize(podUID: String, bridgeResult: JSONValue) {
        guard let size = addressing.withLock({ $0?.offloadSize }) else { return }
        do throws(BerthError) {
            try BigTCP.set("eth0", to: size, namespacePath: Self.namespacePath(podUID: podUID))
            if let hostEnd = hostEnd(bridgeResult: bridgeResult) { try BigTCP.set(hostEnd, to: size) }
            try BigTCP.set(configuration.bridgeName, to: size)
        } catch {
            logger.warning("BIG TCP not set up for the pod", metadata: ["pod": "\(podUID)", "error": "\(error.message)"])
        }
    }

    private func applySpoofTable() async {
        let current = ports.withLock { Array($0.values) }
        await spoofTable.apply(SpoofRules.render(current, table: SpoofRules.table(bridge: configuration.bridgeName)))
    }

    /// Starts handing out addresses of `subnet`, with the addresses pods already hold (their
    /// records on disk, found after an agent restart) claimed first, so no two pods ever share
    /// one and none stays held by a pod that is gone.
    func configure(subnet: IPv4Network, mtu: Int, offloadSize: UInt32? = nil, holders: [(owner: String, address: String)]) {
        var pool = PodAddressPool(subnet: subnet)
        for holder in holders {
            if let address = IPv4.parse(holder.address) { pool.claim(address, for: holder.owner) }
        }
        addressing.withLock { $0 = Addressing(pool: pool, mtu: mtu, offloadSize: offloadSize) }
    }

    func configureUnderlay(_ setup: Underlay) { underlay.withLock { $0 = setup } }

    var subnet: IPv4Network? { addressing.withLock { $0?.pool.subnet } }
    /// The bridge's address: the pods' gateway and their DNS server.
    var gateway: UInt32? { addressing.withLock { $0?.pool.gateway } }

    static func namespaceName(podUID: String) -> String { "berth-\(podUID.prefix(18))" }
    static func namespacePath(podUID: String) -> String { "/run/netns/\(namespaceName(podUID: podUID))" }

    /// Creates the namespace if it does not exist (cheap: containers can be created in it while
    /// `attach` plumbs it).
    func createNamespace(podUID: String) async throws(BerthError) {
        let name = Self.namespaceName(podUID: podUID)
        let path = Self.namespacePath(podUID: podUID)
        guard !FileManager.default.fileExists(atPath: path) else { return }
        let result = try await Subprocess.run("/usr/sbin/ip", ["netns", "add", name])
        guard result.succeeded || FileManager.default.fileExists(atPath: path) else {
            throw BerthError(.internalError, "failed to create network namespace \(name): \(result.errorText)")
        }
        if result.succeeded { freshNamespaces.withLock { _ = $0.insert(podUID) } }
    }

    /// Attaches the namespace (lo up, eth0 on the bridge) and returns the pod's IP. Idempotent:
    /// a pod that already has its address (set up before an agent restart) keeps it.
    func attach(podUID: String, bandwidth: Bandwidth = Bandwidth(), fixedAddress: UInt32? = nil) async throws(BerthError) -> String {
        let path = Self.namespacePath(podUID: podUID)
        guard let (gateway, mtu) = addressing.withLock({ state in state.map { ($0.pool.gateway, $0.mtu) } }) else {
            throw BerthError(.unavailable, "the node has no pod subnet yet")
        }
        if let setup = underlay.withLock({ $0 }) {
            return try await attachUnderlay(podUID: podUID, fixedAddress: fixedAddress, setup: setup, mtu: mtu)
        }
        if let fixedAddress {
            return try await attachFixed(podUID: podUID, address: fixedAddress, gateway: gateway, mtu: mtu, bandwidth: bandwidth)
        }
        let fresh = freshNamespaces.withLock { $0.remove(podUID) != nil }
        if !fresh, let existing = try await address(of: path), let value = IPv4.parse(existing) {
            if addressing.withLock({ $0?.pool.claim(value, for: podUID) ?? false }) {
                await guardPort(podUID: podUID, ip: existing)
                return existing
            }
            // Held by another pod (this one was plumbed, then the agent died before recording
            // it): give this pod a fresh address.
            _ = try? await invoke("bridge", command: "DEL", podUID: podUID, namespace: path, interface: "eth0", config: bridgeConfig(address: nil, gateway: gateway, mtu: mtu))
        }
        guard let address = addressing.withLock({ $0?.pool.allocate(for: podUID) }) else {
            throw BerthError(.unavailable, "no free pod address in \(subnet?.description ?? "the node's subnet")")
        }
        let result: JSONValue
        do {
            _ = try await invoke("loopback", command: "ADD", podUID: podUID, namespace: path, interface: "lo",
                                 config: ["cniVersion": "1.0.0", "name": "berth-lo", "type": "loopback"])
            result = try await invoke("bridge", command: "ADD", podUID: podUID, namespace: path, interface: "eth0",
                                      config: bridgeConfig(address: address, gateway: gateway, mtu: mtu))
            if !bandwidth.isEmpty {
                _ = try await invoke("bandwidth", command: "ADD", podUID: podUID, namespace: path, interface: "eth0",
                                     config: bandwidth.config(previous: result))
            }
        } catch {
            addressing.withLock { $0?.pool.release(owner: podUID) }
            throw error
        }
        raiseOffloadSize(podUID: podUID, bridgeResult: result)
        await guardPort(podUID: podUID, ip: IPv4Network.format(address), bridgeResult: result)
        return IPv4Network.format(address)
    }

    /// A pod with an IPPool address, which lies outside this node's subnet: the address as a
    /// /32 on eth0 (the bridge plugin with `static` IPAM, not as the gateway: the bridge keeps
    /// its own address), the gateway reached on-link and the default route through it, and a host route that sends the address onto the bridge.
    private func attachFixed(podUID: String, address: UInt32, gateway: UInt32, mtu: Int, bandwidth: Bandwidth) async throws(BerthError) -> String {
        let path = Self.namespacePath(podUID: podUID)
        let text = IPv4Network.format(address)
        let gatewayText = IPv4Network.format(gateway)
        if try await self.address(of: path) != text {
            let config: JSONValue = [
                "cniVersion": "1.0.0", "name": "berth", "type": "bridge", "bridge": .string(configuration.bridgeName),
                "isGateway": false, "ipMasq": false, "hairpinMode": true, "mtu": .number(String(mtu)),
                "ipam": ["type": "static", "addresses": [["address": .string("\(text)/32")]]],
            ]
            _ = try await invoke("loopback", command: "ADD", podUID: podUID, namespace: path, interface: "lo",
                                 config: ["cniVersion": "1.0.0", "name": "berth-lo", "type": "loopback"])
            let result = try await invoke("bridge", command: "ADD", podUID: podUID, namespace: path, interface: "eth0", config: config)
            raiseOffloadSize(podUID: podUID, bridgeResult: result)
            if !bandwidth.isEmpty {
                _ = try await invoke("bandwidth", command: "ADD", podUID: podUID, namespace: path, interface: "eth0", config: bandwidth.config(previous: result))
            }
        }
        let prefix = subnet?.prefixLength ?? 24
        let host = """
            addr replace \(gatewayText)/\(prefix) dev \(configuration.bridgeName)
            link set \(configuration.bridgeName) up
            \(CrossHostPlan.localRoute("\(text)/32", bridge: configuration.bridgeName))

            """
        let pod = """
            route replace \(gatewayText)/32 dev eth0 scope link
            route replace default via \(gatewayText) dev eth0

            """
        // The address may have lived on this bridge before, under another MAC: a stale
        // neighbour entry would send its first packets to a port that is gone.
        _ = try? await Subprocess.run("/usr/sbin/ip", ["neigh", "flush", "to", text, "dev", configuration.bridgeName])
        for (arguments, batch) in [(["-batch", "-"], host), (["-n", Self.namespaceName(podUID: podUID), "-batch", "-"], pod)] {
            let result = try await Subprocess.run("/usr/sbin/ip", arguments, input: Array(batch.utf8))
            guard result.succeeded else { throw BerthError(.internalError, "failed to route the fixed address \(text): \(result.errorText)") }
        }
        // The bridge plugin enables forwarding only when it is the gateway.
        if let handle = FileHandle(forWritingAtPath: "/proc/sys/net/ipv4/ip_forward") {
            try? handle.write(contentsOf: Data("1\n".utf8))
            try? handle.close()
        }
        await guardPort(podUID: podUID, ip: text)
        return text
    }

    /// Releases the address and removes the namespace; safe to repeat, and after a failed set-up.
    func tearDown(podUID: String) async {
        let path = Self.namespacePath(podUID: podUID)
        freshNamespaces.withLock { _ = $0.remove(podUID) }
        // The egress shaper's ifb device lives on the host: the plugin's DEL (a no-op for pods
        // without limits) removes it with the pod.
        _ = try? await invoke("bandwidth", command: "DEL", podUID: podUID, namespace: path, interface: "eth0",
                              config: ["cniVersion": "1.0.0", "name": "berth", "type": "bandwidth"])
        if let (gateway, mtu) = addressing.withLock({ state in state.map { ($0.pool.gateway, $0.mtu) } }) {
            _ = try? await invoke("bridge", command: "DEL", podUID: podUID, namespace: path, interface: "eth0", config: bridgeConfig(address: nil, gateway: gateway, mtu: mtu))
        }
        // A fixed address's host route stays: the host network moves or removes it when the
        // API shows the address elsewhere or gone (its successor may be starting here already).
        _ = try? await Subprocess.run("/usr/sbin/ip", ["netns", "delete", Self.namespaceName(podUID: podUID)])
        addressing.withLock { $0?.pool.release(owner: podUID) }
        if let port = ports.withLock({ $0.removeValue(forKey: podUID) }) {
            await applySpoofTable()
            // A fixed address can be given to its next pod before this one's network is gone
            // (the pool releases it when the pod has finished): both answered ARP for it for a
            // moment, and the host may have kept this MAC — traffic to the new pod then went to
            // a port that no longer exists until the entry expired (20 s and more in a test).
            _ = try? await Subprocess.run("/usr/sbin/ip", ["neigh", "flush", "to", port.ip, "dev", configuration.bridgeName])
        }
        await traffic.withdraw(podUID: podUID)
    }

    /// Receive and transmit byte counters of the pod's eth0: the host end of its veth counted
    /// the other way round (what the host end sent, the pod received) — two file reads, where
    /// asking inside the namespace costs an `ip` process per pod per reading (the metrics
    /// collector reads every pod every few seconds). Unknown ports are asked for in the namespace.
    func counters(podUID: String) async -> (received: Int64, transmitted: Int64)? {
        if let interface = ports.withLock({ $0[podUID]?.interface }) {
            let base = "/sys/class/net/\(interface)/statistics/"
            func read(_ name: String) -> Int64? {
                (try? String(contentsOfFile: base + name, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            if let sent = read("tx_bytes"), let received = read("rx_bytes") { return (sent, received) }
        }
        guard let result = try? await Subprocess.run("/usr/sbin/ip", ["-n", Self.namespaceName(podUID: podUID), "-s", "-j", "link", "show", "eth0"]),
              result.succeeded, let links = try? JSONParser.parse(result.standardOutput), let link = links.arrayValue?.first,
              let stats = link["stats64"] else { return nil }
        return (Int64(stats["rx"]?["bytes"]?.intValue ?? 0), Int64(stats["tx"]?["bytes"]?.intValue ?? 0))
    }

    /// The bridge plugin's configuration; `static` IPAM with the address Berth chose (none for DEL).
    private func bridgeConfig(address: UInt32?, gateway: UInt32, mtu: Int) -> JSONValue {
        let prefix = subnet?.prefixLength ?? 24
        var ipam: JSONValue = [
            "type": "static",
            "routes": [["dst": "0.0.0.0/0"]],
        ]
        if let address {
            ipam.set([["address": .string("\(IPv4Network.format(address))/\(prefix)"), "gateway": .string(IPv4Network.format(gateway))]], at: ["addresses"])
        }
        return [
            "cniVersion": "1.0.0", "name": "berth", "type": "bridge", "bridge": .string(configuration.bridgeName),
            "isGateway": true, "ipMasq": false, "hairpinMode": true, "mtu": .number(String(mtu)),
            "ipam": ipam,
        ]
    }

    /// The pool's bookkeeping, for `attachUnderlay`.
    func claim(_ address: UInt32, for owner: String) -> Bool { addressing.withLock { $0?.pool.claim(address, for: owner) ?? false } }
    func allocate(for owner: String) -> UInt32? { addressing.withLock { $0?.pool.allocate(for: owner) } }
    func release(owner: String) { addressing.withLock { $0?.pool.release(owner: owner) } }
    func address(of namespace: String) async throws(BerthError) -> String? {
        let result = try await Subprocess.run("/usr/sbin/ip", ["-n", (namespace as NSString).lastPathComponent, "-4", "-j", "addr", "show", "eth0"])
        guard result.succeeded, let links = try? JSONParser.parse(result.standardOutput) else { return nil }
        return links.arrayValue?.first?["addr_info"]?.arrayValue?.first?["local"]?.stringValue
    }

    func invoke(_ plugin: String, command: String, podUID: String, namespace: String, interface: String,
                        config: JSONValue) async throws(BerthError) -> JSONValue {
        let environment = [
            "CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(podUID)", "CNI_NETNS=\(namespace)", "CNI_IFNAME=\(interface)",
            "CNI_PATH=\(configuration.cniPluginDirectory)", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        ]
        let result = try await Subprocess.run("\(configuration.cniPluginDirectory)/\(plugin)", [], environment: environment, input: JSONWriter.bytes(config))
        guard result.succeeded else {
            let message = (try? JSONParser.parse(result.standardOutput))?["msg"]?.stringValue ?? result.errorText
            throw BerthError(.internalError, "CNI \(plugin) \(command) failed: \(message)")
        }
        return (try? JSONParser.parse(result.standardOutput)) ?? .object([:])
    }
}

/// `kubernetes.io/ingress-bandwidth` and `kubernetes.io/egress-bandwidth` (bits per second,
/// quantities such as `10M`), applied by the CNI `bandwidth` plugin: a token bucket on the
/// host end of the veth for traffic into the pod, and one on an ifb device for traffic out.
struct Bandwidth: Sendable, Equatable {
    var ingress: Int64?
    var egress: Int64?

    init(ingress: Int64? = nil, egress: Int64? = nil) {
        self.ingress = ingress
        self.egress = egress
    }

    /// From the pod's annotations; a value that is not a positive quantity is an error.
    init(annotations: [String: String]) throws(BerthError) {
        func rate(_ key: String) throws(BerthError) -> Int64? {
            guard let text = annotations[key] else { return nil }
            let value: Int64
            do { value = try Quantity(parsing: text).value } catch {
                throw BerthError(.invalid, "annotation \(key): \(text) is not a quantity such as 10M")
            }
            guard value > 0 else { throw BerthError(.invalid, "annotation \(key): \(text) must be positive") }
            return value
        }
        ingress = try rate("kubernetes.io/ingress-bandwidth")
        egress = try rate("kubernetes.io/egress-bandwidth")
    }

    var isEmpty: Bool { ingress == nil && egress == nil }

    /// The bucket depth: 50 ms at the rate, at least 64 KiB, so a limit holds over short
    /// measurements as well as long ones.
    static func burst(_ rate: Int64) -> Int64 { max(rate / 20, 64 * 1024 * 8) }

    func config(previous: JSONValue) -> JSONValue {
        var config: JSONValue = ["cniVersion": "1.0.0", "name": "berth", "type": "bandwidth", "prevResult": previous]
        if let ingress {
            config.set(.number(String(ingress)), at: ["ingressRate"])
            config.set(.number(String(Self.burst(ingress))), at: ["ingressBurst"])
        }
        if let egress {
            config.set(.number(String(egress)), at: ["egressRate"])
            config.set(.number(String(Self.burst(egress))), at: ["egressBurst"])
        }
        return config
    }
}
