import ArgumentParser
import BerthAgent
import BerthClient
import BerthCore
import CMalloc
import Foundation
import Logging
import ServiceLifecycle

/// `berth agent`: the node role alone, against a control plane reached with a kubeconfig.
/// Joining with a bootstrap token and mutual TLS comes with the cluster issue; until then the
/// agent uses the admin kubeconfig (e.g. a second process beside `berth server`).
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent", abstract: "Run the node agent for this host against a control plane.")

    @Option(help: "Kubeconfig of the control plane.") var kubeconfig: String
    @Option(help: "Where pods, images and runtime state live.") var dataDir = "/var/lib/berth"
    @Option(help: "The address other hosts reach this node on.") var nodeAddress = "127.0.0.1"
    @OptionGroup var agent: AgentOptions

    func run() async throws {
        _ = mallopt(M_ARENA_MAX, 2)
        var logger = Logger(label: "berth.agent")
        logger.logLevel = ProcessInfo.processInfo.environment["BERTH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let client = try APIClient(config: Kubeconfig.load(path: kubeconfig), maximumConnections: 8)
        var configuration = AgentConfiguration(
            nodeName: agent.nodeName ?? AgentConfiguration.hostName, dataDirectory: dataDir + "/node",
            podSubnet: agent.podSubnet, nodeAddress: nodeAddress)
        configuration.bridgeName = agent.bridgeName
            configuration.containerLogMaxSize = agent.containerLogMaxSize
        let service = try AgentService(configuration: configuration, client: client, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(services: [service, MemoryTrimService()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(3)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }
}
