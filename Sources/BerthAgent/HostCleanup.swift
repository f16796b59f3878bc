import BerthCore
import BerthNetwork
import BerthRuntime
import Foundation
import Logging

/// Takes a stopped agent's footprint off its host (`berth cleanup`): an agent that stops leaves
/// its containers running on purpose (the next agent adopts them), so removing a node for good
/// is a separate, explicit step. Removes the containers (runc), each pod's network (CNI DEL for
/// bandwidth and bridge, the namespace), mounts under the data directory, the pod bridge, the
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
            removed.append("pod network \(PodNetwork.namespaceName(podUID: uid))")
        }
        for mount in Self.mounts(under: configuration.dataDirectory) {
            if (try? await Subprocess.run("/bin/umount", ["-l", mount]))?.succeeded == true { removed.append("mount \(mount)") }
        }
        let host = HostNetwork(mode: configuration.networkMode, ownSubnet: IPv4Network(base: 0, prefixLength: 32), nodeAddress: 0, logger: logger)
        await host.tearDown()
        removed.append("routes of protocol \(CrossHostPlan.routeProtocol), device \(CrossHostPlan.vxlanDevice)")
        let bridge = configuration.bridgeName
        if (try? await Subprocess.run("/usr/sbin/ip", ["link", "delete", bridge]))?.succeeded == true { removed.append("bridge \(bridge)") }
        for (family, table) in [("ip", ServiceRules.table(bridge: bridge)), ("ip", PolicyRules.table(bridge: bridge)), ("bridge", SpoofRules.table(bridge: bridge))] {
            if (try? await Subprocess.run("/usr/sbin/nft", ["delete", "table", family, table]))?.succeeded == true { removed.append("nftables table \(family) \(table)") }
        }
        if purge {
            try? FileManager.default.removeItem(atPath: configuration.dataDirectory)
            removed.append("data directory \(configuration.dataDirectory)")
        }
        return removed
    }

    /// Mount points below `directory`, deepest first.
    static func mounts(under directory: String) -> [String] {
        let table = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return table.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { return nil }
            let point = String(fields[1])
            return point.hasPrefix(prefix) ? point : nil
        }.sorted { $0.count > $1.count }
    }
}
