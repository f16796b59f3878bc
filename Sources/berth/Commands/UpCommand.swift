import ArgumentParser

/// `berth up`: the all-in-one role — the control plane on the embedded SQLite store plus a node
/// agent that runs pods on this host.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Run the all-in-one platform: control plane on SQLite and a node agent for this host.")

    @OptionGroup var options: ControlPlaneOptions
    @OptionGroup var agent: AgentOptions

    func run() async throws {
        try await ControlPlane(dataDirectory: options.dataDir, listen: options.listen, store: nil, agent: agent,
                               nodeGrace: .seconds(options.nodeGrace), podEvictionTimeout: .seconds(options.podEvictionTimeout)).run()
    }
}

/// `berth server`: the control plane alone, on SQLite or an etcd cluster.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the control plane on the chosen store.")

    @OptionGroup var options: ControlPlaneOptions

    @Option(help: "sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...]")
    var store: String?

    func run() async throws {
        try await ControlPlane(dataDirectory: options.dataDir, listen: options.listen, store: store, agent: nil,
                               nodeGrace: .seconds(options.nodeGrace), podEvictionTimeout: .seconds(options.podEvictionTimeout)).run()
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
    var dataDir = "/var/lib/berth"

    @Option(help: "HOST:PORT the API server listens on (HTTPS).")
    var listen = "127.0.0.1:6443"

    @Option(help: "Seconds without a Lease renewal before a node is NotReady.")
    var nodeGrace = 10

    @Option(help: "Seconds a node stays NotReady before its pods are replaced elsewhere.")
    var podEvictionTimeout = 10
}

/// Options of the node agent `berth up` runs.
struct AgentOptions: ParsableArguments {
    @Option(help: "This node's name (default: the host name).")
    var nodeName: String?

    @Option(help: "This node's pod subnet, out of the cluster pod CIDR 100.96.0.0/11.")
    var podSubnet = "100.96.0.0/24"

    @Option(help: "The Linux bridge pods attach to.")
    var bridgeName = "berth0"

    @Option(help: "Rotate a container's log past this many bytes (keeping 5 files).")
    var containerLogMaxSize: Int64 = 10 << 20
}
