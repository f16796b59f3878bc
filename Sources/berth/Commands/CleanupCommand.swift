import ArgumentParser
import BerthAgent
import BerthRuntime
import Foundation
import Logging

/// `berth cleanup`: removes a stopped node agent's containers, pod networks, mounts, bridge,
/// VXLAN device, routes and nftables tables from this host (what `kubeadm reset` does for a
/// kubelet). Stopping an agent leaves its containers running for the next agent to adopt; this
/// is how a host leaves for good.
struct CleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup", abstract: "Remove a stopped agent's containers, pod networks, routes and nftables tables from this host.")

    @Option(help: "The data directory the agent (or `berth up`) used.") var dataDir = "/var/lib/berth"
    @Option(help: "The Linux bridge the agent's pods attached to.") var bridgeName = "berth0"
    @Flag(help: "Also delete the data directory (images, pod records, certificates).") var purge = false

    func run() async throws {
        var logger = Logger(label: "berth.cleanup")
        logger.logLevel = .warning
        let lock = dataDir + "/node/agent.pid"
        if let text = try? String(contentsOfFile: lock, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
           kill(pid, 0) == 0, ProcFile.read("/proc/\(pid)/cmdline")?.contains("berth") == true {
            throw ValidationError("the agent (pid \(pid)) still runs on \(dataDir): stop it first")
        }
        var configuration = AgentConfiguration(nodeName: "cleanup", dataDirectory: dataDir + "/node")
        configuration.bridgeName = bridgeName
        let removed = await HostCleanup(configuration: configuration, logger: logger).run(purge: purge)
        for line in removed { print("removed \(line)") }
    }
}
