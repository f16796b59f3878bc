import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation
import Glibc
import Logging

/// Takes a stopped agent's footprint off its host (`berth cleanup`): an agent that stops leaves
/// its containers running on purpose (the next agent adopts them), so removing a node for good
/// is a separate, explicit step. Removes the containers (runc), each pod's network (CNI DEL for
/// bandwidth and bridge, the namespace) and cgroups, mounts under the data directory, the pod bridge, the
/// VXLAN device, Berth's routes (protocol 77) and its nftables tables. Safe to repeat.
public struct HostCleanup: Sendable {
    public let configuration: AgentConfiguration
    let logger: Logger

    public init(configuration: AgentConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// What was removed, one line per item, for the user.
    public func run(purge: Bool) async -> [String] {
        var removed: [String] = []
        let runtime = try? ConmonDriver(stateDirectory: configuration.runtimeDirectory, logger: logger)
        for (id, _) in await runtime?.list() ?? [:] {
            await runtime?.kill(id, signal: "KILL", all: true)
            await runtime?.delete(id)
            removed.append("container \(id)")
        }
        let network = PodNetwork(configuration: configuration, logger: logger)
        for uid in (try? FileManager.default.contentsOfDirectory(atPath: configuration.podsDirectory)) ?? [] {
            await network.tearDown(podUID: uid)
            await PodCgroups.removeSoon(podUID: uid)
            removed.append("pod network \(PodNetwork.namespaceName(podUID: uid)) and cgroups")
        }
        // GlusterFS first: its FUSE clients hold mounts, its bricks hold directories.
        for process in GlusterProcesses.killAll(under: configuration.dataDirectory) { removed.append(process) }
        // A mount point may carry more than one mount (stacked); detach until none is left.
        for _ in 0..<8 {
            let mounts = ProcFile.mounts(under: configuration.dataDirectory)
            if mounts.isEmpty { break }
            for mount in mounts {
                if umount2(mount, Int32(MNT_DETACH)) == 0 {
                    removed.append("mount \(mount)")
                } else {
                    logger.warning("could not unmount", metadata: ["mount": "\(mount)", "error": "\(String(cString: strerror(errno)))"])
                }
            }
        }
        let host = HostNetwork(mode: configuration.networkMode, ownSubnet: IPv4Network(base: 0, prefixLength: 32), nodeAddress: 0, logger: logger)
        await host.tearDown()
        removed.append("routes of protocol \(CrossHostPlan.routeProtocol), devices \(CrossHostPlan.vxlanDevice) and \(UnderlayPlan.shimDevice)")
        if let restored = HostNetwork.restoreUnderlay(record: configuration.bigTCPRecord, logger: logger) { removed.append(restored) }
        let bridge = configuration.bridgeName
        HAProxyProcess.stop(directory: configuration.dataDirectory + "/ingress")
        let announced = AnnouncedAddresses(recordPath: LoadBalancerAnnouncer.recordPath(configuration))
        for (address, interface) in announced.recorded() { removed.append("load-balancer address \(address) on \(interface)") }
        await announced.releaseAll()
        if (try? await Subprocess.run("/usr/sbin/ip", ["link", "delete", bridge]))?.succeeded == true { removed.append("bridge \(bridge)") }
        let tables = [("ip", ServiceRules.table(bridge: bridge)), ("ip", PolicyRules.table(bridge: bridge)), ("bridge", SpoofRules.table(bridge: bridge))]
            + NodeTraffic.tables(bridge: bridge).map { ("ip", $0) }
        for (family, table) in tables {
            if (try? await Subprocess.run("/usr/sbin/nft", ["delete", "table", family, table]))?.succeeded == true { removed.append("nftables table \(family) \(table)") }
        }
        if purge {
            try? FileManager.default.removeItem(atPath: configuration.dataDirectory)
            removed.append("data directory \(configuration.dataDirectory)")
        }
        return removed
    }
}
