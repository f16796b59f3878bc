import ArgumentParser

/// `berth up`: the all-in-one role. This release runs the control plane on the embedded SQLite
/// store; the local node agent joins it when the runtime lands.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Run the all-in-one platform (control plane on SQLite).")

    @Option(help: "Where state, certificates and the admin kubeconfig live.")
    var dataDir = "/var/lib/berth"

    @Option(help: "HOST:PORT the API server listens on (HTTPS).")
    var listen = "127.0.0.1:6443"

    func run() async throws {
        try await ControlPlane(dataDirectory: dataDir, listen: listen, store: nil).run()
    }
}

/// `berth server`: the control plane alone, on SQLite or an etcd cluster.
struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "server", abstract: "Run the control plane on the chosen store.")

    @Option(help: "Where certificates and the admin kubeconfig live (and the SQLite file by default).")
    var dataDir = "/var/lib/berth"

    @Option(help: "HOST:PORT the API server listens on (HTTPS).")
    var listen = "127.0.0.1:6443"

    @Option(help: "sqlite:PATH or etcd://HOST:PORT[,HOST:PORT...]")
    var store: String?

    func run() async throws {
        try await ControlPlane(dataDirectory: dataDir, listen: listen, store: store).run()
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
