import BerthCore
import BerthRuntime
import Foundation
import Logging

/// Programs this host for cross-host pod traffic from the peers it is given (routes in routed
/// mode; the VXLAN device, neighbour, forwarding entries and routes in vxlan mode). Each agent
/// does this for its own host from the Node objects it watches: there is no central network
/// controller. Only changes are applied; everything Berth adds is findable (route protocol
/// `CrossHostPlan.routeProtocol`, device `berth.vx`) and removed by `tearDown`.
public actor HostNetwork {
    public nonisolated let mode: NetworkMode
    public let ownSubnet: IPv4Network
    public let nodeAddress: UInt32
    let logger: Logger
    private var applied: [String: PeerNode] = [:]
    /// Where each fixed (IPPool) address lives: node name by address, as the API says.
    private var placements: [UInt32: String] = [:]
    /// The route line in force for each fixed address.
    private var placed: [UInt32: String] = [:]
    /// This node's name and bridge, for fixed addresses of its own pods.
    public let nodeName: String
    public let bridge: String
    private var tunnelReady = false
    /// The last batch of route and neighbour changes given to `ip`/`bridge`: each batch waits
    /// for the one before (see `batch`).
    private var lastBatch: Task<Void, Never>?
    /// The MTU pods get: the underlay's, less the VXLAN overhead in vxlan mode.
    public private(set) var podMTU = 1500
    /// The IPv4 BIG TCP size pods' veths and the bridge get (`BigTCP`), nil when not used.
    public private(set) var podOffloadSize: UInt32?
    /// When BIG TCP is used (`--big-tcp`).
    let bigTCP: BigTCP.Policy
    /// Where `prepare` notes the underlay device it raised and its old size, for `berth cleanup`.
    let bigTCPRecord: String?
    /// Underlay mode: the uplink pods attach to (`--underlay-interface`), and what `prepare`
    /// found on it: the physical network and its gateway, which pods share.
    public let underlayInterface: String?
    public private(set) var physicalNetwork: IPv4Network?
    public private(set) var physicalGateway: UInt32?

    public init(mode: NetworkMode, ownSubnet: IPv4Network, nodeAddress: UInt32, nodeName: String = "", bridge: String = "berth0",
                bigTCP: BigTCP.Policy = .off, bigTCPRecord: String? = nil, underlayInterface: String? = nil, logger: Logger) {
        self.underlayInterface = underlayInterface
        self.nodeName = nodeName
        self.bridge = bridge
        self.bigTCP = bigTCP
        self.bigTCPRecord = bigTCPRecord
        self.mode = mode
        self.ownSubnet = ownSubnet
        self.nodeAddress = nodeAddress
        self.logger = logger
    }

    /// The interface that carries `nodeAddress`, and its MTU.
    public func underlay() async -> (name: String, mtu: Int)? {
        guard let result = try? await Subprocess.run("/usr/sbin/ip", ["-j", "-4", "addr", "show"]), result.succeeded,
              let links = try? JSONParser.parse(result.standardOutput).arrayValue else { return nil }
        let wanted = IPv4Network.format(nodeAddress)
        for link in links where link["addr_info"]?.arrayValue?.contains(where: { $0["local"]?.stringValue == wanted }) == true {
            guard let name = link["ifname"]?.stringValue else { continue }
            return (name, link["mtu"]?.intValue ?? 1500)
        }
        return nil
    }

    /// Removes what an earlier run left (routes of peers that may be gone) and creates the
    /// VXLAN device in vxlan mode. Returns the pod MTU.
    @discardableResult
    public func prepare() async throws(BerthError) -> Int {
        _ = try await Subprocess.run("/usr/sbin/ip", ["route", "flush", "proto", String(CrossHostPlan.routeProtocol)])
        applied = [:]
        placed = [:]
        try await Self.enableBridgeFiltering()
        let device = await underlay()
        // Loopback (a single host, `berth up`) has a 64 KiB MTU no pod should inherit.
        let underlayMTU = device.map { $0.name == "lo" ? 1500 : $0.mtu } ?? 1500
        switch mode {
        case .routed:
            podMTU = underlayMTU
            _ = try await Subprocess.run("/usr/sbin/ip", ["link", "delete", CrossHostPlan.vxlanDevice])
            podOffloadSize = bigTCP == .off ? nil : enableBigTCP(underlay: device?.name)
        case .underlay:
            _ = try await Subprocess.run("/usr/sbin/ip", ["link", "delete", CrossHostPlan.vxlanDevice])
            podMTU = try await prepareUnderlay()
        case .vxlan:
            podMTU = underlayMTU - CrossHostPlan.vxlanOverhead
            guard let device, device.name != "lo" else {
                // A single host on loopback (`berth up`) has no peers to tunnel to.
                logger.notice("no underlay interface carries the node address; the VXLAN device waits for one", metadata: ["address": "\(IPv4Network.format(nodeAddress))"])
                return podMTU
            }
            try await createTunnel(on: device.name, mtu: podMTU)
        }
        return podMTU
    }

    /// Raises the underlay device to the BIG TCP size when the kernel and the device allow it
    /// (noting its old size for `berth cleanup`) and returns the size pods get. With loopback
    /// as the underlay (`berth up` on one host) pods get it only under `--big-tcp on`: their
    /// traffic to other machines leaves through a device Berth does not know, where buffers
    /// above its limit would be cut up in software.
    private func enableBigTCP(underlay: String?) -> UInt32? {
        guard let underlay else { return nil }
        do throws(BerthError) {
            let sizes = try BigTCP.sizes(of: underlay)
            if underlay == "lo" { return bigTCP == .on && sizes.gsoIPv4Max != nil ? BigTCP.size : nil }
            guard let size = BigTCP.usableSize(underlay: sizes, policy: bigTCP), let old = sizes.gsoIPv4Max else {
                logger.info("BIG TCP not used: the kernel or the underlay device does not support it, or it is a veth (--big-tcp on overrides)",
                            metadata: ["device": "\(underlay)", "kind": "\(sizes.kind)", "tsoMaxSize": "\(sizes.tsoMax)"])
                return nil
            }
            if old < size {
                if let bigTCPRecord, !FileManager.default.fileExists(atPath: bigTCPRecord) {
                    FileManager.default.createFile(atPath: bigTCPRecord, contents: Data("\(underlay) \(old)\n".utf8))
                }
                try BigTCP.set(underlay, to: size)
            }
            logger.info("BIG TCP in use", metadata: ["device": "\(underlay)", "size": "\(size)"])
            return size
        } catch {
            logger.warning("BIG TCP not used", metadata: ["error": "\(error.message)"])
            return nil
        }
    }

    /// Gives the underlay device `prepare` raised its old size back (`berth cleanup`).
    public static func restoreUnderlay(record: String, logger: Logger) -> String? {
        guard let text = try? String(contentsOfFile: record, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace)
        defer { try? FileManager.default.removeItem(atPath: record) }
        guard fields.count == 2, let old = UInt32(fields[1]) else { return nil }
        do throws(BerthError) {
            try BigTCP.set(String(fields[0]), to: old)
            return "offload size \(old) of \(fields[0])"
        } catch {
            logger.warning("could not restore the underlay's offload size", metadata: ["error": "\(error.message)"])
            return nil
        }
    }

    /// Packets between two pods on one bridge must pass the host's connection tracking, or the
    /// reply to a pod that reached a neighbour through a Service IP skips the reverse NAT (the
    /// reason Kubernetes requires br_netfilter). The setting is per network namespace.
    static func enableBridgeFiltering() async throws(BerthError) {
        let path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
        if !FileManager.default.fileExists(atPath: path) {
            _ = try? await Subprocess.run("/usr/sbin/modprobe", ["br_netfilter"])
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw BerthError(.unavailable, "br_netfilter is not available (\(path) is missing): Services between pods of one node need it")
        }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("1\n".utf8)) } catch {
            throw BerthError(.unavailable, "could not enable \(path): \(error)")
        }
    }

    private func createTunnel(on device: String, mtu: Int) async throws(BerthError) {
        let name = CrossHostPlan.vxlanDevice
        let local = IPv4Network.format(nodeAddress)
        let exists = (try? await Subprocess.run("/usr/sbin/ip", ["-d", "-j", "link", "show", name]))?.succeeded == true
        if !exists {
            let created = try await Subprocess.run("/usr/sbin/ip", [
                "link", "add", name, "type", "vxlan", "id", String(CrossHostPlan.vxlanID), "local", local, "dev", device,
                "dstport", String(CrossHostPlan.vxlanPort), "nolearning",
            ])
            guard created.succeeded else { throw BerthError(.internalError, "failed to create the VXLAN device \(name): \(created.errorText)") }
        }
        let vtep = IPv4Network.format(CrossHostPlan.vtepAddress(ownSubnet))
        let batch = """
            link set \(name) address \(CrossHostPlan.vtepMAC(ownSubnet)) mtu \(mtu)
            addr replace \(vtep)/32 dev \(name)
            link set \(name) up

            """
        let result = try await Subprocess.run("/usr/sbin/ip", ["-batch", "-"], input: Array(batch.utf8))
        guard result.succeeded else { throw BerthError(.internalError, "failed to set up the VXLAN device \(name): \(result.errorText)") }
        tunnelReady = true
    }

    /// Underlay mode: the uplink's network, gateway and MTU, and the host's own macvlan shim
    /// (`UnderlayPlan.shim`) holding the node address, with a route to this node's pods through
    /// it — a macvlan child never reaches its parent, so without it the node could not probe,
    /// proxy or forward to its own pods. Returns the pod MTU (the uplink's).
    private func prepareUnderlay() async throws(BerthError) -> Int {
        guard let interface = underlayInterface else { throw BerthError(.badRequest, "underlay mode needs --underlay-interface") }
        let shown = try await Subprocess.run("/usr/sbin/ip", ["-j", "-4", "addr", "show", "dev", interface])
        guard shown.succeeded, let link = (try? JSONParser.parse(shown.standardOutput))?.arrayValue?.first,
              let info = link["addr_info"]?.arrayValue?.first(where: { $0["local"]?.stringValue != nil }),
              let local = info["local"]?.stringValue.flatMap(IPv4.parse), let prefix = info["prefixlen"]?.intValue else {
            throw BerthError(.badRequest, "--underlay-interface \(interface) has no IPv4 address: pods share its network")
        }
        let network = IPv4Network(base: local & IPv4Network.mask(prefix), prefixLength: prefix)
        guard network.contains(ownSubnet) else {
            throw BerthError(.badRequest, "the node's pod range \(ownSubnet) is not inside \(network), the network of --underlay-interface \(interface)")
        }
        physicalNetwork = network
        let routes = try await Subprocess.run("/usr/sbin/ip", ["-j", "-4", "route", "show", "default", "dev", interface])
        physicalGateway = (try? JSONParser.parse(routes.standardOutput))?.arrayValue?.first?["gateway"]?.stringValue.flatMap(IPv4.parse)
        let lines = UnderlayPlan.shim(uplink: interface, nodeAddress: nodeAddress, podRange: ownSubnet)
        let result = try await Subprocess.run("/usr/sbin/ip", ["-force", "-batch", "-"], input: Array((lines.joined(separator: "\n") + "\n").utf8))
        guard result.succeeded else { throw BerthError(.internalError, "could not set up the underlay shim on \(interface): \(result.errorText)") }
        logger.info("underlay ready", metadata: ["interface": "\(interface)", "network": "\(network)", "podRange": "\(ownSubnet)",
                                                 "gateway": "\(physicalGateway.map(IPv4Network.format) ?? "none")"])
        return link["mtu"]?.intValue ?? 1500
    }

    /// Brings the host's entries in line with `peers`: new and changed peers added, departed
    /// ones removed. Peers on the host's own subnet or address are ignored.
    public func sync(_ peers: [PeerNode]) async {
        var desired: [String: PeerNode] = [:]
        for peer in peers where peer.address != nodeAddress && !peer.podSubnet.overlaps(ownSubnet) { desired[peer.name] = peer }
        if mode == .vxlan && !tunnelReady { return }
        // Underlay: every pod is on the physical network; peers need no entries.
        if mode == .underlay {
            applied = desired
            return
        }
        var ipLines: [String] = []
        var bridgeLines: [String] = []
        for (name, old) in applied where desired[name] != old {
            ipLines += CrossHostPlan.remove(old, mode: mode)
            if mode == .vxlan { bridgeLines.append(CrossHostPlan.forwardingRemove(old)) }
        }
        for (name, peer) in desired where applied[name] != peer {
            // Forwarding first: a route is usable the moment it exists.
            if mode == .vxlan { bridgeLines.append(CrossHostPlan.forwardingAdd(peer)) }
            ipLines += CrossHostPlan.add(peer, mode: mode)
        }
        if !bridgeLines.isEmpty { await batch("/usr/sbin/bridge", bridgeLines) }
        if !ipLines.isEmpty { await batch("/usr/sbin/ip", ipLines) }
        if !ipLines.isEmpty || !bridgeLines.isEmpty {
            logger.info("cross-host entries updated", metadata: ["mode": "\(mode.rawValue)", "peers": "\(desired.count)"])
        }
        applied = desired
        await applyPlacements()
    }

    /// Fixed addresses follow their pods: a host route to the bridge for this node's, to the
    /// owning peer for the others' (via its address in routed mode, its tunnel endpoint in
    /// vxlan mode). An address whose node is unknown has no route.
    public func place(_ placements: [UInt32: String]) async {
        self.placements = placements
        await applyPlacements()
    }

    private func applyPlacements() async {
        // Underlay: a fixed address is on the physical network wherever its pod runs.
        if mode == .underlay { return }
        var desired: [UInt32: String] = [:]
        for (address, node) in placements {
            let target = "\(IPv4Network.format(address))/32"
            if node == nodeName {
                desired[address] = CrossHostPlan.localRoute(target, bridge: bridge)
            } else if let peer = applied[node] {
                desired[address] = CrossHostPlan.peerRoute(target, peer, mode: mode)
            }
        }
        var lines: [String] = []
        for (address, line) in placed where desired[address] != line {
            if desired[address] == nil { lines.append("route del \(IPv4Network.format(address))/32 proto \(CrossHostPlan.routeProtocol)") }
        }
        for (address, line) in desired where placed[address] != line { lines.append(line) }
        placed = desired
        guard !lines.isEmpty else { return }
        await batch("/usr/sbin/ip", lines)
        logger.info("fixed-address routes updated", metadata: ["routes": "\(desired.count)"])
    }

    /// Runs the lines through `tool -batch`, after every batch given before has finished. The
    /// actor is re-entered while a batch runs: without the chain, a placement change's
    /// `route del` and the next change's `route replace` for the same address ran as two
    /// processes at once, the delete could land last, and the address stayed without a route
    /// while `placed` said it had one (a re-created fixed-address pod unreachable in a test).
    private func batch(_ tool: String, _ lines: [String]) async {
        let text = lines.joined(separator: "\n") + "\n"
        let (previous, logger) = (lastBatch, self.logger)
        let run = Task {
            await previous?.value
            // -force: one failing line (a route already gone) must not stop the rest.
            guard let result = try? await Subprocess.run(tool, ["-force", "-batch", "-"], input: Array(text.utf8)) else { return }
            if !result.succeeded {
                logger.warning("some cross-host entries failed", metadata: ["tool": "\(tool)", "error": "\(result.errorText.prefix(500))"])
            }
        }
        lastBatch = run
        await run.value
    }

    /// Removes every route and the VXLAN device Berth added.
    public func tearDown() async {
        _ = try? await Subprocess.run("/usr/sbin/ip", ["route", "flush", "proto", String(CrossHostPlan.routeProtocol)])
        _ = try? await Subprocess.run("/usr/sbin/ip", ["link", "delete", CrossHostPlan.vxlanDevice])
        _ = try? await Subprocess.run("/usr/sbin/ip", ["link", "delete", UnderlayPlan.shimDevice])
        applied = [:]
        placed = [:]
        tunnelReady = false
    }
}
