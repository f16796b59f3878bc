import BerthClient
import BerthCore
import BerthImages
import BerthNetwork
import BerthRuntime
import Foundation
import Logging
import ServiceLifecycle

/// The node agent: registers the Node, renews its Lease, and runs the pods bound to it.
public final class AgentService: ServiceLifecycle.Service, Sendable {
    /// Connections an agent opens to the API server: one per open watch plus room for writes.
    public static let connectionsToServer = 24
    /// Status writes come in bursts (a node starting 200 pods); the connections they opened close
    /// again after this long unused, so an idle agent keeps little more than its watches.
    public static let idleConnectionSeconds: Int64 = 5
    public let configuration: AgentConfiguration
    let client: APIClient
    let logger: Logger
    let manager: PodManager
    let context: PodContext

    let registry: RegistryClient
    let imageCollector: ImageGarbageCollector

    public init(configuration: AgentConfiguration, client: APIClient, insecureRegistries: Set<String> = [],
                logger: Logger = Logger(label: "berth.agent")) throws(BerthError) {
        var configuration = configuration
        // The cluster registry is the API server's address, trusted with the cluster CA.
        var cluster: ClusterRegistry?
        if let url = URL(string: client.config.server), url.scheme == "https", let host = url.host, let ca = client.config.certificateAuthority {
            let address = "\(host):\(url.port ?? 443)"
            configuration.clusterRegistryHost = address
            cluster = ClusterRegistry(host: address, caPEM: ca, localBlobs: configuration.clusterRegistryBlobs)
        }
        self.configuration = configuration
        self.client = client
        self.logger = logger
        for directory in [configuration.podsDirectory, configuration.logsDirectory, configuration.cniDirectory] {
            try PodVolumes.makeDirectory(directory, mode: 0o755)
        }
        let api = AgentAPI(client: client)
        let catalog = ServiceCatalog()
        let imageStore = try ImageStore(root: configuration.imagesDirectory)
        // conmon's cap sits above the agent's rotation size: it only acts while no agent runs.
        let runtime = try ConmonDriver(stateDirectory: configuration.runtimeDirectory, logSizeMax: configuration.containerLogMaxSize * 4, logger: logger)
        registry = RegistryClient(store: imageStore, insecureRegistries: insecureRegistries, cluster: cluster, logger: logger)
        imageCollector = ImageGarbageCollector(store: imageStore, highPercent: configuration.imageGCHighThresholdPercent,
                                               lowPercent: configuration.imageGCLowThresholdPercent)
        context = PodContext(
            configuration: configuration, api: api, runtime: runtime,
            images: PodImages(store: imageStore, puller: registry, collector: imageCollector), imageStore: imageStore,
            network: PodNetwork(configuration: configuration, logger: logger), volumes: PodVolumes(api: api, nodeName: configuration.nodeName, glusterMounts: configuration.dataDirectory + "/glusterfs"),
            specs: ContainerSpecFactory(api: api, catalog: catalog), probes: ProbeRunner(runtime: runtime), logger: logger)
        manager = PodManager(context: context)
    }

    public var imageStore: ImageStore { context.imageStore }

    public func run() async throws {
        do {
            try await runAgent()
        } catch {
            await registry.shutdown()
            throw error
        }
        await registry.shutdown()
    }

    private func runAgent() async throws {
        try Self.checkHost()
        // `berth cleanup` refuses to run under a live agent.
        let pidFile = "\(configuration.dataDirectory)/agent.pid"
        FileManager.default.createFile(atPath: pidFile, contents: Data("\(getpid())\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        if FileManager.default.fileExists(atPath: "/bin/busybox") {
            do { try BusyboxImage.ensure(in: context.imageStore) } catch {
                logger.warning("could not build the local busybox image", metadata: ["error": "\(error.message)"])
            }
        }
        let registration = NodeRegistration(configuration: configuration, api: context.api, logger: logger)
        while true {
            do {
                try await registration.register()
                break
            } catch {
                logger.warning("node registration failed, retrying", metadata: ["error": "\(error.message)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
        let watcher = PodWatcher(configuration: configuration, client: client, manager: manager, logger: logger)
        let (configuration, logger, client) = (self.configuration, self.logger, self.client)
        let network = context.network
        let api = context.api
        let catalog = context.specs.catalog
        let dns = ClusterDNS(catalog: catalog, logger: logger)
        defer { dns.stop() }
        // On shutdown the loops stop at once; containers keep running under conmon and the next
        // agent adopts them.
        try await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    // Pods run only once the host network can carry them.
                    guard let host = await Self.setUpNetwork(configuration: configuration, registration: registration, network: network, logger: logger) else { return }
                    if let gateway = network.gateway {
                        do throws(BerthError) { try dns.start(address: gateway) } catch {
                            logger.error("the cluster DNS could not start; pods resolve no service names", metadata: ["error": "\(error.message)"])
                        }
                    }
                    await withDiscardingTaskGroup { inner in
                        inner.addTask { await PeerWatcher(client: client, host: host, selfName: configuration.nodeName, logger: logger).run() }
                        inner.addTask { await FixedAddressWatcher(client: client, host: host, logger: logger).run() }
                        inner.addTask { await LocalVolumeReclaimer(client: client, api: api, node: configuration.nodeName, logger: logger).run() }
                        inner.addTask {
                            await SnapshotTaker(api: api, node: configuration.nodeName, directory: configuration.dataDirectory + "/snapshots",
                                                glusterMounts: configuration.dataDirectory + "/glusterfs", logger: logger).run()
                        }
                        inner.addTask {
                            await GlusterProvisioner(api: api, daemon: GlusterDaemon(configuration: configuration, logger: logger), node: configuration.nodeName,
                                                     logger: logger).run()
                        }
                        let announcer = LoadBalancerAnnouncer(api: api, node: configuration.nodeName,
                                                              recordPath: LoadBalancerAnnouncer.recordPath(configuration), logger: logger)
                        inner.addTask { await announcer.run() }
                        inner.addTask { await ServiceProxy(client: client, table: ServiceRules.table(bridge: configuration.bridgeName), catalog: catalog,
                                                                 bridge: configuration.bridgeName, host: host, announcer: announcer,
                                                                 nodeName: configuration.nodeName,
                                                                 podTables: configuration.networkMode == .underlay ? network.podTables : nil, logger: logger).run() }
                        inner.addTask { await IngressProxy(api: api, configuration: configuration, logger: logger).run() }
                        let underlay = configuration.networkMode == .underlay
                        let manager = self.manager
                        await network.podTables.source { await manager.allWorkers().map { PodNetwork.namespaceName(podUID: $0.uid) } }
                        inner.addTask {
                            await PolicyAgent(client: client, nodeName: configuration.nodeName, table: PolicyRules.table(bridge: configuration.bridgeName),
                                              placement: underlay ? .podNamespace(node: configuration.nodeAddress) : .bridge,
                                              podTables: underlay ? network.podTables : nil, logger: logger).run()
                        }
                        inner.addTask { await watcher.run() }
                    }
                }
                group.addTask { [imageCollector = self.imageCollector, manager = self.manager] in
                    await imageCollector.run(every: configuration.imageGCInterval, imagesDirectory: configuration.imagesDirectory, manager: manager, logger: logger)
                }
                group.addTask {
                    // Ended pods' logs past the retention go.
                    while !Task.isCancelled {
                        LogArchive.expire(configuration)
                        try? await Task.sleep(for: .seconds(60))
                    }
                }
                group.addTask { [manager = self.manager] in
                    await EvictionManager(configuration: configuration, manager: manager, pressure: registration.pressure, logger: logger).run {
                        try? await registration.heartbeat()
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        do { try await registration.heartbeat() } catch {
                            logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
                        }
                        try? await Task.sleep(for: configuration.heartbeatInterval)
                    }
                }
            }
        }
        await manager.shutdown()
    }

    /// Waits for the node's pod subnet, prepares the host (stale routes removed, the VXLAN device
    /// in vxlan mode) and starts address allocation with the addresses pods already hold. A
    /// host that cannot be prepared reports NetworkUnavailable and is retried; nil on shutdown.
    static func setUpNetwork(configuration: AgentConfiguration, registration: NodeRegistration, network: PodNetwork,
                             logger: Logger) async -> HostNetwork? {
        while !Task.isCancelled {
            do throws(BerthError) {
                let subnet = try await registration.podSubnet()
                let host = HostNetwork(mode: configuration.networkMode, ownSubnet: subnet,
                                       nodeAddress: IPv4.parse(configuration.nodeAddress) ?? 0x7F00_0001,
                                       nodeName: configuration.nodeName, bridge: configuration.bridgeName,
                                       bigTCP: configuration.bigTCP, bigTCPRecord: configuration.bigTCPRecord,
                                       underlayInterface: configuration.underlayInterface, logger: logger)
                let mtu = try await host.prepare()
                if let interface = configuration.underlayInterface, let physical = await host.physicalNetwork {
                    network.configureUnderlay(PodNetwork.Underlay(interface: interface, network: physical, gateway: await host.physicalGateway))
                }
                network.configure(subnet: subnet, mtu: mtu, offloadSize: await host.podOffloadSize,
                                  holders: PodRecord.addressHolders(in: configuration.podsDirectory))
                await network.traffic.start(subnet: subnet)
                if registration.networkProblem.current != nil {
                    registration.networkProblem.set(nil)
                    try? await registration.heartbeat()
                }
                logger.info("host network ready", metadata: ["podCIDR": "\(subnet)", "mode": "\(configuration.networkMode.rawValue)", "mtu": "\(mtu)"])
                return host
            } catch {
                logger.error("host network set-up failed, retrying", metadata: ["error": "\(error.message)"])
                registration.networkProblem.set(error.message)
                try? await registration.heartbeat()
                try? await Task.sleep(for: .seconds(5))
            }
        }
        return nil
    }

    /// The host programs the agent drives; a clear message beats a failed pod.
    static func checkHost() throws(BerthError) {
        let needed = ["/usr/sbin/runc", "/usr/bin/conmon", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "/usr/sbin/ip"]
        let missing = needed.filter { !FileManager.default.isExecutableFile(atPath: $0) }
        guard missing.isEmpty else {
            throw BerthError(.unavailable, "the node agent needs \(missing.joined(separator: ", ")): run `make deps` (apt-get install runc conmon containernetworking-plugins iproute2)")
        }
    }

    // MARK: - Streams for the API server (logs, exec)

    /// A container's log, for `pods/{name}/log`.
    public func logs(namespace: String, pod: String, container: String?, previous: Bool, options: LogOptions) async throws(BerthError) -> AsyncStream<[UInt8]> {
        guard let worker = await manager.worker(namespace: namespace, name: pod) else {
            throw BerthError(.notFound, "pod \"\(pod)\" is not running on node \(configuration.nodeName)")
        }
        let (path, _) = try await worker.logPath(container: container, previous: previous)
        let name = container
        var follow = options
        if previous { follow.follow = false }
        return ContainerLog.follow(path: path, options: follow) {
            guard let name else { return !(await worker.isAnyRunning()) }
            return !(await worker.isRunning(container: name))
        }
    }

    /// The ingress HAProxy's access log on this node (`HAProxyConfig` writes it in the
    /// container log format), with the options of a container's log; followed until the reader
    /// goes away.
    public func ingressAccessLog(options: LogOptions) throws(BerthError) -> AsyncStream<[UInt8]> {
        let path = configuration.dataDirectory + "/ingress/access.log"
        guard FileManager.default.fileExists(atPath: path) else {
            throw BerthError(.notFound, "node \(configuration.nodeName) carries no ingress (label it berth.dev/ingress=true)")
        }
        return ContainerLog.follow(path: path, options: options) { false }
    }

    /// A TCP connect to `address`:`port` from inside the pod's network namespace (busybox nc,
    /// 2 s limit), for `berth trace`.
    public func probe(namespace: String, pod: String, address: String, port: Int) async throws(BerthError) -> JSONValue {
        guard let worker = await manager.worker(namespace: namespace, name: pod) else {
            throw BerthError(.notFound, "pod \"\(pod)\" is not running on node \(configuration.nodeName)")
        }
        let started = ContinuousClock.now
        let result = try await Subprocess.run("/usr/sbin/ip", ["netns", "exec", PodNetwork.namespaceName(podUID: worker.uid),
                                                              "/bin/busybox", "nc", "-w", "2", address, String(port)], input: [])
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let detail = result.succeeded ? "connected" : (result.errorText.isEmpty ? "no answer within 2 s" : result.errorText)
        return ["connected": .bool(result.succeeded), "milliseconds": .number(String(format: "%.1f", milliseconds)), "detail": .string(detail)]
    }

    /// The runc id of a running container, for exec.
    public func containerID(namespace: String, pod: String, container: String?) async throws(BerthError) -> String {
        guard let worker = await manager.worker(namespace: namespace, name: pod) else {
            throw BerthError(.notFound, "pod \"\(pod)\" is not running on node \(configuration.nodeName)")
        }
        return try await worker.runtimeID(container: container)
    }

    /// Attaches to a running container's own stdio (conmon's attach socket); stdin only when
    /// the container was started with `stdin: true`, as the kubelet requires.
    public func attach(namespace: String, pod: String, container: String?, stdin: Bool) async throws(BerthError) -> AttachSession {
        guard let worker = await manager.worker(namespace: namespace, name: pod) else {
            throw BerthError(.notFound, "pod \"\(pod)\" is not running on node \(configuration.nodeName)")
        }
        let target = try await worker.attachable(container: container)
        if stdin && !target.stdin {
            throw BerthError(.badRequest, "container \(container ?? "") in pod \(pod) was not started with stdin: true (spec.containers[].stdin); attach without -i, or recreate the pod with stdin")
        }
        return try AttachSession(runtime: context.runtime, containerID: target.id, tty: target.tty)
    }

    public var runtime: ConmonDriver { context.runtime }
}

extension PodWorker {
    func isAnyRunning() -> Bool {
        record.containers.keys.contains { isRunning(container: $0) }
    }
}
