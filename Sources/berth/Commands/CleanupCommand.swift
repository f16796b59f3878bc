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

    @Option(help: "The data directory the agent (or `berth up`) used.") var dataDir = DataDirectory.standard
    @Option(help: "The Linux bridge the agent's pods attached to.") var bridgeName = "berth0"
    @Flag(help: "Also delete the whole data directory: the store, the cluster CA and admin token, images, pod records.") var purge = false

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
        if purge, let server = Self.processHolding(dataDir + "/state.db") {
            throw ValidationError("a server (pid \(server)) still uses \(dataDir)/state.db: stop it first")
        }
        var removed = await HostCleanup(configuration: configuration, logger: logger).run(purge: purge)
        // The whole data directory, not only the agent's part: the store, the cluster CA and
        // the admin token stayed, so the next `berth up` brought the old cluster back.
        if purge, FileManager.default.fileExists(atPath: dataDir) {
            do {
                try FileManager.default.removeItem(atPath: dataDir)
                removed.append("data directory \(dataDir)")
            } catch {
                throw ValidationError("failed to delete \(dataDir): \(error.localizedDescription)")
            }
        }
        for line in removed { print("removed \(line)") }
    }

    /// A process with `path` open (a server on this data directory), from /proc.
    static func processHolding(_ path: String) -> Int32? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let target = (path as NSString).standardizingPath
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid() else { continue }
            let fds = "/proc/\(entry)/fd"
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? [] {
                if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + fd), link == target { return pid }
            }
        }
        return nil
    }
}
