import BerthAPIServer
import BerthAgent
import BerthClient
import BerthControllers
import BerthCore
import BerthNetwork
import BerthRegistry
import BerthStore
import Foundation
import Hummingbird
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// Starts the control plane: store, certificates, admin credentials, API server.
struct ControlPlane {
    var dataDirectory: String
    var listen: String
    /// `sqlite:PATH` or `etcd://HOST:PORT[,HOST:PORT…]`; nil means SQLite in the data directory.
    var store: String?
    /// Client TLS to etcd (`--etcd-cafile` …); settings in the store URL's query add to it.
    var etcdTLS = EtcdTLS()
    /// `berth up` runs a node agent beside the control plane; `berth server` does not.
    var agent: AgentOptions?
    var ranges: NetworkRangeOptions
    /// Node lifecycle timings for the controllers.
    var nodeGrace: Duration = .seconds(10)
    var podEvictionTimeout: Duration = .seconds(10)
    /// Scheduled backups of the SQLite store, when asked for.
    var backups: (interval: Duration, keep: Int, directory: String)?
    /// Where every request is recorded (`--audit-log-path`).
    var auditLog: AuditLog?
    /// Which resources are encrypted in the store, and how (`--encryption-provider-config`).
    var encryption: EncryptionConfiguration?
    /// The built-in registry (`--registry-storage`, `--registry-gc-interval`).
    var registry: RegistryConfiguration
    /// Metrics collection and the autoscalers' Prometheus (`MonitoringOptions`).
    var monitoring = MonitoringSettings()

    func run() async throws {
        MallocTuning.apply()
        var logger = Logger(label: "berth.server")
        logger.logLevel = ProcessInfo.processInfo.environment["BERTH_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let (host, port) = try Self.parseListen(listen)
        try ListenAddressCheck.ensureFree(host: host, port: port)
        let registryAddress = try registry.listen.map { (text) throws -> (String, Int) in
            let address = try Self.parseListen(text)
            try ListenAddressCheck.ensureFree(host: address.0, port: address.1)
            return address
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var kv = try openStore()
        if let encryption { kv = EncryptingStore(kv, configuration: encryption) }
        kv = TimedStore(kv, observe: APIServer.storeObserver)
        let token = try Self.loadOrCreateToken(dataDirectory + "/admin.token")
        // Pods reach the API as the `kubernetes` Service: its address and names are in the
        // serving certificate, as in Kubernetes.
        let serviceNetwork = try ranges.services()
        let apiServiceIP = IPv4Network.format(serviceNetwork.base &+ 1)
        let certificates = try ClusterCertificates.loadOrCreate(directory: dataDirectory, hosts: [host, apiServiceIP, "kubernetes", "kubernetes.default",
                                                                                                  "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"]
                                                                                                  + (registryAddress.map { [$0.0] } ?? []))
        let advertised = host == "0.0.0.0" ? "127.0.0.1" : host
        let kubeconfig = Kubeconfig(server: "https://\(advertised):\(port)", certificateAuthority: certificates.caCertificatePEM, token: token)
        FileManager.default.createFile(atPath: dataDirectory + "/admin.kubeconfig", contents: Data(kubeconfig.yaml().utf8), attributes: [.posixPermissions: 0o600])

        let readyLogger = logger
        var serverConfiguration = APIServerConfiguration(adminToken: token)
        serverConfiguration.serviceCIDR = try ranges.services().description
        serverConfiguration.clusterCIDR = try ranges.cluster().description
        serverConfiguration.certificateExpirations = certificates.expirations
        serverConfiguration.storeFiles = sqlitePath.map { [$0, $0 + "-wal"] } ?? []
        serverConfiguration.metricsInterval = monitoring.interval
        serverConfiguration.metricsHistory = monitoring.history
        serverConfiguration.prometheusURL = monitoring.prometheusURL
        serverConfiguration.auditLog = auditLog
        serverConfiguration.encryption = encryption
        // Checked here, so a storage directory that cannot be made stops the start with its reason.
        _ = try BlobStorage(root: registry.storageDirectory)
        serverConfiguration.registry = registry
        // The controllers and the local agent use tokens of their own: the controllers' role
        // (`system:berth-controllers`), the agent as its node (the node authorizer).
        let controllerToken = try Self.randomToken()
        let agentToken = try Self.randomToken()
        let agentNodeName = agent.map { $0.nodeName ?? AgentConfiguration.hostName }
        serverConfiguration.internalTokens[controllerToken] = UserInfo(name: DefaultRoles.controllersUser, groups: [UserInfo.authenticated])
        if let agentNodeName { serverConfiguration.internalTokens[agentToken] = UserInfo.node(agentNodeName) }
        serverConfiguration.advertiseAddress = advertised
        serverConfiguration.advertisePort = port
        serverConfiguration.nodeCertificates = try NodeCertificateIssuer(caCertificatePEM: certificates.caCertificatePEM, caKeyPEM: certificates.caKeyPEM)
        let server = APIServer(store: kv, configuration: serverConfiguration, logger: logger)
        try await server.bootstrap()
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificates.serverCertificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(certificates.serverKeyPEM.utf8), format: .pem)))
        tls.applicationProtocols = ["http/1.1"]
        // Nodes that joined present client certificates from the cluster CA; everyone else
        // (kubectl, the admin) uses a bearer token, so a certificate is asked for but optional.
        // Its chain is checked by the API (`authenticate`), which answers a foreign one with a 401.
        tls.certificateVerification = .optionalVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(certificates.caCertificatePEM.utf8)))
        var services: [any ServiceLifecycle.Service] = server.services + [CompactionService(store: kv, logger: logger), HeapTrimmer.shared]
        if let collection = server.registryGarbageCollection { services.append(collection) }
        if let replication = server.registryReplication { services.append(replication) }
        if let backups {
            services.append(ScheduledBackups(dataDirectory: dataDirectory, directory: backups.directory, interval: backups.interval,
                                             keep: backups.keep, logger: logger))
        }
        // Controllers and the scheduler talk to the API like any client (admin token, the same
        // handlers), through the in-process transport: no TLS, HTTP framing or sockets between
        // two parts of one process.
        let local = InProcessServer(server: server)
        var controllerKubeconfig = kubeconfig
        controllerKubeconfig.token = controllerToken
        let controllerClient = try APIClient(config: controllerKubeconfig, maximumConnections: 64, inProcess: local)
        var controllerConfiguration = ControllerConfiguration(identity: "\(AgentConfiguration.hostName)-\(ProcessInfo.processInfo.processIdentifier)")
        controllerConfiguration.autoscalerSyncPeriod = monitoring.autoscalerSync
        controllerConfiguration.nodeGrace = nodeGrace
        controllerConfiguration.podEvictionTimeout = podEvictionTimeout
        controllerConfiguration.clusterCIDR = try ranges.cluster()
        var controllerLogger = Logger(label: "berth.controllers")
        controllerLogger.logLevel = logger.logLevel
        services.append(ControllerManager(api: ResourceAPI(client: controllerClient), configuration: controllerConfiguration, logger: controllerLogger))
        var agentClient: APIClient?
        var localStreams: LocalNodeStreams?
        if let agent {
            // Eight watches stay open (pods, fixed-address pods, nodes, services, endpoints, policy
            // pods, namespaces, policies): room for them plus status writes and heartbeats.
            var agentKubeconfig = kubeconfig
            agentKubeconfig.token = agentToken
            let client = try APIClient(config: agentKubeconfig, maximumConnections: AgentService.connectionsToServer, inProcess: local)
            agentClient = client
            var agentLogger = Logger(label: "berth.agent")
            agentLogger.logLevel = logger.logLevel
            var configuration = try agent.configuration(nodeName: agentNodeName ?? AgentConfiguration.hostName,
                                                        dataDirectory: dataDirectory + "/node", nodeAddress: advertised, ranges: ranges)
            configuration.clusterRegistryBlobs = registry.storageDirectory
            // The all-in-one node carries ingress unless told not to.
            configuration.ingressNode = agent.ingressNode ?? true
            let service = try AgentService(configuration: configuration, client: client, logger: agentLogger)
            localStreams = LocalNodeStreams(agent: service)
            services.append(service)
        }
        // Logs and stats: from the local agent directly, from joined agents over mutual TLS.
        let apiServerClient = try serverConfiguration.nodeCertificates!.apiServerClientCertificate()
        let streams = try ClusterNodeStreams(local: localStreams, admin: controllerClient, caPEM: certificates.caCertificatePEM,
                                             clientCertificatePEM: apiServerClient.certificatePEM, clientKeyPEM: apiServerClient.keyPEM)
        server.nodeStreams.set(streams)
        let app = Application(
            responder: server.responder,
            server: try .boundedTLSWebSocket(tlsConfiguration: tls, verifyClientCertificate: { _, promise in promise.succeed(.certificateVerified) },
                                             spdyUpgrade: { head, channel in await server.decideSPDYUpgrade(head, channel: channel) }) { request, channel, logger in
                await server.shouldUpgrade(request, channel: channel, logger: logger)
            },
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { _ in
                readyLogger.info("berth api server ready", metadata: ["url": "https://\(advertised):\(port)", "kubeconfig": "\(dataDirectory)/admin.kubeconfig"])
            },
            logger: logger)
        // The registry alone on its own address, when asked (same TLS, same pipeline).
        if let (registryHost, registryPort) = registryAddress {
            services.append(Application(
                responder: server.registryResponder,
                server: try .boundedTLSWebSocket(tlsConfiguration: tls, verifyClientCertificate: { _, promise in promise.succeed(.certificateVerified) }) { _, _, _ in
                    .dontUpgrade
                },
                configuration: ApplicationConfiguration(address: .hostname(registryHost, port: registryPort), serverName: nil),
                onServerRunning: { _ in readyLogger.info("berth registry ready", metadata: ["url": "https://\(registryHost):\(registryPort)/v2/"]) },
                logger: logger))
        }
        // Open watch streams (kubectl -w, agents) do not end on their own: after a short grace
        // the group cancels what is still running, so SIGTERM/SIGINT always stop the process.
        // The services run in this group, not in the Application's own: when the listener
        // cannot bind (the port is taken), this group's time limits stop them and the process
        // exits with the error. Inside the Application's group, which waits without a limit,
        // the controllers kept the process alive, silent and not listening. The Application
        // comes last so that shutdown (in reverse order) stops the listener first.
        var groupConfiguration = ServiceGroupConfiguration(services: services + [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(3)
        groupConfiguration.maximumCancellationDuration = .seconds(5)
        do {
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            try? await streams.http.shutdown()
            await controllerClient.shutdown()
            await agentClient?.shutdown()
            await kv.close()
            // Taken between the check at the start and the bind: the same words as the check.
            if let failure = error as? IOError, failure.errnoCode == EADDRINUSE {
                throw BerthError(.badRequest, "cannot listen on \(host):\(port): \(String(cString: strerror(failure.errnoCode)))")
            }
            throw error
        }
        try? await streams.http.shutdown()
        await controllerClient.shutdown()
        await agentClient?.shutdown()
        await kv.close()
    }

    /// The SQLite file when the store is SQLite (for `apiserver_storage_size_bytes`).
    var sqlitePath: String? {
        guard let store, !store.isEmpty else { return dataDirectory + "/state.db" }
        return store.hasPrefix("sqlite:") ? String(store.dropFirst("sqlite:".count)) : nil
    }

    func openStore() throws -> any KeyValueStore {
        guard let store, !store.isEmpty else { return try SQLiteStore(path: dataDirectory + "/state.db") }
        if store.hasPrefix("sqlite:") { return try SQLiteStore(path: String(store.dropFirst("sqlite:".count))) }
        if store.hasPrefix("etcd://") { return try EtcdStore(url: store, tls: etcdTLS) }
        throw BerthError(.badRequest, "failed to parse --store \(store): expected sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...]")
    }

    static func parseListen(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw BerthError(.badRequest, "failed to parse --listen \(text): expected HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }

    /// A fresh random token (in memory only: the in-process parts get a new one every start).
    static func randomToken() throws -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func loadOrCreateToken(_ path: String) throws -> String {
        if let existing = try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            return existing
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        FileManager.default.createFile(atPath: path, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
        return token
    }
}
