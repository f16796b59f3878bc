import ArgumentParser
import BerthAgent
import BerthAPIServer
import BerthClient
import BerthCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// `berth agent`: the node role alone. `--join URL --token T --ca-cert-hash H` trades a
/// bootstrap token for a node certificate once (kept in DATA/node.kubeconfig) and talks mutual
/// TLS from then on; `--kubeconfig` uses an existing kubeconfig instead.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "agent", abstract: "Run the node agent for this host against a control plane.")

    @Option(help: "Kubeconfig of the control plane (instead of --join).") var kubeconfig: String?
    @Option(help: "URL of the API server to join, e.g. https://100.72.0.1:6443.") var join: String?
    @Option(help: "Bootstrap token from `berth token create`.") var token: String?
    @Option(help: "sha256:HEX of the cluster CA (printed by `berth token create`).") var caCertHash: String?
    @Option(help: "The cluster CA certificate file (instead of --ca-cert-hash).") var caFile: String?
    @Option(help: "Register this many simulated nodes NAME-0… (NAME from --node-name, default sim) whose fake runtime reports pods Running; for scale tests.")
    var simulate: Int?
    @Option(help: "Where pods, images and runtime state live.") var dataDir = DataDirectory.standard
    @Option(help: "The address other hosts reach this node on.") var nodeAddress = "127.0.0.1"
    @OptionGroup var agent: AgentOptions
    @OptionGroup var ranges: NetworkRangeOptions

    func run() async throws {
        MallocTuning.apply()
        var logger = Logger(label: "berth.agent")
        logger.logLevel = ProcessInfo.processInfo.environment["BERTH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        if let simulate { return try await runSimulated(count: simulate, logger: logger) }
        let nodeName = agent.nodeName ?? AgentConfiguration.hostName
        // Eight watches stay open (pods, fixed-address pods, nodes, services, endpoints, policy
        // pods, namespaces, policies): room for them plus status writes and heartbeats.
        // A joined agent serves NODE-ADDRESS:10250; a taken port is reported before the token is
        // spent or the host touched, and again for a kubeconfig that carries a node certificate.
        if join != nil && kubeconfig == nil { try ensureEndpointFree() }
        let config = try await clientConfig(nodeName: nodeName, logger: logger)
        if config.clientCertificate != nil { try ensureEndpointFree() }
        let client = try APIClient(config: config, maximumConnections: AgentService.connectionsToServer,
                                   idleTimeout: .seconds(AgentService.idleConnectionSeconds))
        let configuration = try agent.configuration(nodeName: nodeName, dataDirectory: dataDir + "/node", nodeAddress: nodeAddress, ranges: ranges)
        let service = try AgentService(configuration: configuration, client: client, logger: logger)
        var services: [any ServiceLifecycle.Service] = [service, HeapTrimmer.shared]
        // A joined agent serves logs and stats to the API server on its own endpoint.
        if client.config.clientCertificate != nil {
            services.append(try AgentStreamServer(agent: service, config: client.config, address: nodeAddress, logger: logger).service())
        }
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
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

    func ensureEndpointFree() throws(BerthError) {
        try ListenAddressCheck.ensureFree(host: nodeAddress, port: AgentStreamServer.port, serving: "the agent's endpoint for logs, exec and stats")
    }

    func runSimulated(count: Int, logger: Logger) async throws {
        guard count > 0 else { throw ValidationError("--simulate needs a positive number of nodes") }
        let prefix = agent.nodeName ?? "sim"
        let config = try await clientConfig(nodeName: prefix, pool: true, logger: logger)
        let client = try APIClient(config: config, maximumConnections: 40)
        let service = SimulatedNodes(prefix: prefix, count: count, client: client, logger: logger)
        var services: [any ServiceLifecycle.Service] = [service]
        // Joined with the pool's certificate: serve the nodes' stats and metrics as agents do.
        if config.clientCertificate != nil {
            services.append(try SimulatedNodesEndpoint(nodes: service, config: config, address: nodeAddress, logger: logger).service())
        }
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(3)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// The kubeconfig to use: given, kept from an earlier join, or obtained by joining now.
    func clientConfig(nodeName: String, pool: Bool = false, logger: Logger) async throws -> Kubeconfig {
        if let kubeconfig { return try Kubeconfig.load(path: kubeconfig) }
        guard let join else { throw ValidationError("pass --join URL --token TOKEN --ca-cert-hash HASH, or --kubeconfig") }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let saved = dataDir + (pool ? "/node-pool-\(nodeName).kubeconfig" : "/node.kubeconfig")
        if FileManager.default.fileExists(atPath: saved) {
            let config = try Kubeconfig.load(path: saved)
            if config.server == join { return config }
        }
        guard let token else { throw ValidationError("joining needs --token (from `berth token create`)") }
        let config = try await AgentJoin(server: join, token: token, caCertHash: caCertHash, caFile: caFile, nodeName: nodeName, pool: pool,
                                     addresses: [nodeAddress]).run(savingTo: saved)
        logger.info("joined the cluster", metadata: ["server": "\(join)", "node": "\(nodeName)"])
        return config
    }
}
