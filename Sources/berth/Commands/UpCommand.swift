import ArgumentParser
import BerthAPIServer
import BerthAgent
import BerthClient
import BerthCore
import BerthMetrics
import BerthNetwork
import BerthStore

/// `berth up`: the all-in-one role — the control plane on the embedded SQLite store plus a node
/// agent that runs pods on this host.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Run the all-in-one platform: control plane on SQLite and a node agent for this host.")

    @OptionGroup var options: ControlPlaneOptions
    @OptionGroup var agent: AgentOptions
    @OptionGroup var ranges: NetworkRangeOptions
    @OptionGroup var monitoring: MonitoringOptions

    func run() async throws {
        var plane = ControlPlane(dataDirectory: options.dataDir, listen: options.listen, store: nil, agent: agent, ranges: ranges,
                                 nodeGrace: .seconds(options.nodeGrace), podEvictionTimeout: .seconds(options.podEvictionTimeout),
                                 backups: try options.backups(), auditLog: try options.auditLog(), encryption: try options.encryption(),
                                 registry: try options.registry())
        plane.monitoring = try monitoring.settings()
        try await plane.run()
    }
}

/// `berth server`: the control plane alone, on SQLite or an etcd cluster.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the control plane on the chosen store.")

    @OptionGroup var options: ControlPlaneOptions
    @OptionGroup var ranges: NetworkRangeOptions
    @OptionGroup var monitoring: MonitoringOptions

    @Option(help: "sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...][?cafile=PATH&certfile=PATH&keyfile=PATH]")
    var store: String?

    @Option(help: "The CA that signed etcd's serving certificate (etcd over TLS).")
    var etcdCafile: String?

    @Option(help: "A client certificate for etcd (with --etcd-keyfile), for etcd's --client-cert-auth.")
    var etcdCertfile: String?

    @Option(help: "The key of --etcd-certfile.")
    var etcdKeyfile: String?

    func run() async throws {
        let backups = try options.backups()
        if backups != nil, let store, store.hasPrefix("etcd://") {
            throw ValidationError("--backup-interval backs up the SQLite store; for an etcd store use etcd's own snapshots (`etcdctl snapshot save`)")
        }
        let tls = EtcdTLS(caFile: etcdCafile, certFile: etcdCertfile, keyFile: etcdKeyfile)
        if !tls.isEmpty, !(store ?? "").hasPrefix("etcd://") {
            throw ValidationError("--etcd-cafile, --etcd-certfile and --etcd-keyfile need --store etcd://…")
        }
        var plane = ControlPlane(dataDirectory: options.dataDir, listen: options.listen, store: store, etcdTLS: tls, agent: nil, ranges: ranges,
                                 nodeGrace: .seconds(options.nodeGrace), podEvictionTimeout: .seconds(options.podEvictionTimeout),
                                 backups: backups, auditLog: try options.auditLog(), encryption: try options.encryption(),
                                 registry: try options.registry())
        plane.monitoring = try monitoring.settings()
        try await plane.run()
    }
}

struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "completion", abstract: "Print a shell completion script (bash, zsh or fish).")

    @Argument(help: "bash, zsh or fish")
    var shell: String

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell) else {
            throw ValidationError("unsupported shell \"\(shell)\": use bash, zsh or fish")
        }
        print(Berth.completionScript(for: kind))
    }
}

/// Options of the roles that run a control plane.
struct ControlPlaneOptions: ParsableArguments {
    @Option(help: "Where state, certificates and the admin kubeconfig live.")
    var dataDir = DataDirectory.standard

    @Option(help: "HOST:PORT the API server listens on (HTTPS).")
    var listen = "127.0.0.1:6443"

    @Option(help: "Where the built-in registry (/v2/ on the API address) keeps its blobs (default: DATA-DIR/registry). Servers of one control plane share one mounted filesystem here.")
    var registryStorage: String?

    @Option(help: "HOST:PORT where the registry (/v2/) is also served, alone, with the API's TLS (e.g. 0.0.0.0:5000); off when not given.")
    var registryListen: String?

    @Option(help: "How often the registry collects garbage (90s, 30m, 1h, 1d; 0: only with `berth registry gc`).")
    var registryGcInterval = "1h"

    /// The registry's settings from the options.
    func registry() throws -> RegistryConfiguration {
        var configuration = RegistryConfiguration(storageDirectory: registryStorage ?? dataDir + "/registry")
        configuration.listen = registryListen
        if registryGcInterval == "0" {
            configuration.garbageCollectionInterval = nil
        } else {
            guard let interval = ScheduledBackups.parseInterval(registryGcInterval) else {
                throw ValidationError("--registry-gc-interval \(registryGcInterval) is not a duration such as 90s, 30m, 1h or 1d (or 0)")
            }
            configuration.garbageCollectionInterval = interval
        }
        return configuration
    }

    @Option(help: "Seconds without a Lease renewal before a node is NotReady.")
    var nodeGrace = 10

    @Option(help: "Seconds a node stays NotReady before its pods are replaced elsewhere.")
    var podEvictionTimeout = 10

    @Option(help: "Write a backup of the store this often (90s, 30m, 1h, 1d); off when not given.")
    var backupInterval: String?

    @Option(help: "How many scheduled backups to keep.")
    var backupKeep = 24

    @Option(help: "Where scheduled backups go (default: DATA-DIR/backups).")
    var backupDir: String?

    @Option(help: "Write one audit.k8s.io/v1 Event per request (JSON lines) to this file; off when not given.")
    var auditLogPath: String?

    @Option(help: "Rotate the audit log past this many megabytes.")
    var auditLogMaxsize = 100

    @Option(help: "How many rotated audit logs to keep.")
    var auditLogMaxbackup = 10

    @Option(help: "An audit.k8s.io/v1 Policy (YAML or JSON) choosing the level and stages of each request's events; without one, every request at Metadata.")
    var auditPolicyFile: String?

    @Option(help: "An apiserver.config.k8s.io/v1 EncryptionConfiguration: the resources (e.g. secrets) to encrypt in the store, with aesgcm, secretbox or identity providers.")
    var encryptionProviderConfig: String?

    /// The audit log, opened, when asked for.
    func auditLog() throws -> AuditLog? {
        guard let auditLogPath else {
            if auditPolicyFile != nil { throw ValidationError("--audit-policy-file needs --audit-log-path") }
            return nil
        }
        guard auditLogMaxsize > 0, auditLogMaxbackup >= 0 else { throw ValidationError("--audit-log-maxsize must be positive and --audit-log-maxbackup not negative") }
        var policy = AuditPolicy.metadataForAll
        if let auditPolicyFile { policy = try AuditPolicy.parse(try Self.document(auditPolicyFile, option: "--audit-policy-file")) }
        return try AuditLog(path: auditLogPath, maximumBytes: auditLogMaxsize * 1024 * 1024, maximumBackups: auditLogMaxbackup, policy: policy)
    }

    /// The store encryption settings, when asked for.
    func encryption() throws -> EncryptionConfiguration? {
        guard let encryptionProviderConfig else { return nil }
        let document = try Self.document(encryptionProviderConfig, option: "--encryption-provider-config")
        let registry = ResourceRegistry.standard
        return try EncryptionConfiguration.parse(document) { resource in registry.resolve(resource).map(ObjectStorage.prefix) }
    }

    /// One YAML or JSON document from a file.
    static func document(_ path: String, option: String) throws -> JSONValue {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw ValidationError("\(option) \(path): cannot read the file") }
        guard let document = try YAMLConversion.parseDocuments(text).first else { throw ValidationError("\(option) \(path): the file is empty") }
        return document
    }

    /// The scheduled backup settings, checked.
    func backups() throws -> (interval: Duration, keep: Int, directory: String)? {
        guard let backupInterval else { return nil }
        guard let interval = ScheduledBackups.parseInterval(backupInterval) else {
            throw ValidationError("--backup-interval \(backupInterval) is not a duration such as 90s, 30m, 1h or 1d")
        }
        guard backupKeep > 0 else { throw ValidationError("--backup-keep must be at least 1") }
        return (interval, backupKeep, backupDir ?? dataDir + "/backups")
    }
}

/// The cluster's address ranges (DESIGN §6); the control plane and every agent use the same.
struct NetworkRangeOptions: ParsableArguments {
    @Option(help: "The cluster's pod range: each node gets a /24 of it.")
    var clusterCIDR = "100.96.0.0/11"

    @Option(help: "The cluster's service range (cluster IPs).")
    var serviceCIDR = "100.64.0.0/13"

    func cluster() throws -> IPv4Network {
        guard let network = IPv4Network(clusterCIDR), network.prefixLength <= 24 else {
            throw ValidationError("--cluster-cidr \(clusterCIDR) is not a network of /24 or larger such as 100.96.0.0/11")
        }
        return network
    }

    func services() throws -> IPv4Network {
        guard let network = IPv4Network(serviceCIDR), (8...30).contains(network.prefixLength) else {
            throw ValidationError("--service-cidr \(serviceCIDR) is not a network such as 100.64.0.0/13")
        }
        return network
    }
}

/// Options of the node agent `berth up` runs.
struct AgentOptions: ParsableArguments {
    @Option(help: "This node's name (default: the host name).")
    var nodeName: String?

    @Option(help: "Fix this node's pod subnet (a /24 of the cluster pod CIDR); by default the control plane assigns one.")
    var podSubnet: String?

    @Option(help: "How pod traffic crosses hosts: routed (host routes; hosts share a network), vxlan (tunnels; any IP network) or underlay (pods on the host's uplink with addresses of the physical network, through macvlan; needs --underlay-interface and a node range in that network, --pod-subnet).")
    var networkMode = "routed"

    @Option(help: "Underlay mode: the host's uplink interface pods attach to (its network must hold the node's pod range).")
    var underlayInterface: String?

    @Option(help: "The Linux bridge pods attach to.")
    var bridgeName = "berth0"

    @Option(help: "IPv4 BIG TCP in routed mode (pods send 192 KiB segments): auto (where the kernel, 6.3+, and the device carrying the node address support it, unless that device is a veth), on (a veth too: the switch behind it allows the size), off. The device's limit is raised; `berth cleanup` restores it.")
    var bigTCP = "auto"

    @Flag(inversion: .prefixedNo, help: "Masquerade pod traffic to addresses outside the pod and service ranges to the node's address (off: pods keep their source address, for routed underlays whose routers know the pod ranges).")
    var egressMasquerade = true

    @Flag(inversion: .prefixedNo, help: "Label this node berth.dev/ingress=true so it runs the ingress data plane (HAProxy); default: on for `berth up`, off for `berth agent` (an admin may label nodes instead).")
    var ingressNode: Bool?

    @Flag(help: "Label this node storage.berth.dev/glusterfs=true: its agent runs and supervises glusterd and the bricks of berth.dev/glusterfs volumes (an admin may label nodes instead).")
    var storageNode = false

    @Option(help: "The port the ingress data plane serves HTTP on, on every node address.")
    var ingressHTTPPort = 80

    @Option(help: "The port the ingress data plane serves HTTPS on.")
    var ingressHTTPSPort = 443

    @Option(help: "Rotate a container's log past this many bytes (keeping 5 files).")
    var containerLogMaxSize: Int64 = 10 << 20

    @Option(help: "Disk usage (percent) above which unused images are removed.")
    var imageGCHighThreshold = 85

    @Option(help: "Disk usage (percent) image removal brings the disk down to.")
    var imageGCLowThreshold = 80

    @Option(help: "Hard eviction thresholds: pods are evicted while one is crossed (signals memory.available, nodefs.available, nodefs.inodesFree, imagefs.available, pid.available; a quantity or a percentage; empty: no eviction).")
    var evictionHard = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%,pid.available<5%"

    @Option(help: "How long a pressure condition stays True after its signal recovers (e.g. 30s, 5m).")
    var evictionPressureTransitionPeriod = "30s"

    @Option(help: "How long the logs of ended pods are kept for `berth logs -l` (e.g. 24h, 7d; 0: not kept).")
    var logRetention = "24h"

    /// The agent's configuration from these options; a bad value is a usage error.
    func configuration(nodeName: String, dataDirectory: String, nodeAddress: String, ranges: NetworkRangeOptions) throws -> AgentConfiguration {
        var configuration = AgentConfiguration(nodeName: nodeName, dataDirectory: dataDirectory, podSubnet: podSubnet, nodeAddress: nodeAddress)
        if let podSubnet, IPv4Network(podSubnet) == nil { throw ValidationError("--pod-subnet \(podSubnet) is not a network such as 100.96.3.0/24") }
        guard let mode = NetworkMode(rawValue: networkMode) else { throw ValidationError("--network-mode must be routed, vxlan or underlay, not \(networkMode)") }
        configuration.networkMode = mode
        if mode == .underlay {
            guard let underlayInterface, !underlayInterface.isEmpty else { throw ValidationError("--network-mode underlay needs --underlay-interface IF") }
            configuration.underlayInterface = underlayInterface
        } else if underlayInterface != nil {
            throw ValidationError("--underlay-interface is for --network-mode underlay")
        }
        configuration.clusterCIDR = try ranges.cluster()
        configuration.serviceCIDR = try ranges.services()
        configuration.bridgeName = bridgeName
        configuration.egressMasquerade = egressMasquerade
        configuration.ingressNode = ingressNode ?? false
        configuration.storageNode = storageNode
        guard (1...65535).contains(ingressHTTPPort), (1...65535).contains(ingressHTTPSPort), ingressHTTPPort != ingressHTTPSPort else {
            throw ValidationError("--ingress-http-port and --ingress-https-port must be two different ports between 1 and 65535")
        }
        configuration.ingressHTTPPort = ingressHTTPPort
        configuration.ingressHTTPSPort = ingressHTTPSPort
        guard let bigTCPPolicy = BigTCP.Policy(rawValue: bigTCP) else { throw ValidationError("--big-tcp must be auto, on or off, not \(bigTCP)") }
        configuration.bigTCP = bigTCPPolicy
        configuration.containerLogMaxSize = containerLogMaxSize
        do {
            configuration.evictionHard = try EvictionThresholds(parsing: evictionHard)
        } catch {
            throw ValidationError("--eviction-hard: \(error.message)")
        }
        guard let transition = TokenCreateCommand.parseDuration(evictionPressureTransitionPeriod), transition >= 0 else {
            throw ValidationError("--eviction-pressure-transition-period \(evictionPressureTransitionPeriod) is not a duration such as 30s or 5m")
        }
        configuration.evictionPressureTransition = .milliseconds(Int64(transition * 1000))
        guard let retention = TokenCreateCommand.parseDuration(logRetention), retention >= 0 else {
            throw ValidationError("--log-retention \(logRetention) is not a duration such as 24h or 7d")
        }
        configuration.logRetention = .milliseconds(Int64(retention * 1000))
        guard (1...100).contains(imageGCHighThreshold), (0..<imageGCHighThreshold).contains(imageGCLowThreshold) else {
            throw ValidationError("--image-gc-low-threshold (\(imageGCLowThreshold)) must be below --image-gc-high-threshold (\(imageGCHighThreshold)), both percentages")
        }
        configuration.imageGCHighThresholdPercent = imageGCHighThreshold
        configuration.imageGCLowThresholdPercent = imageGCLowThreshold
        return configuration
    }
}
