import ArgumentParser

@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Berth: a container cloud platform in one binary.",
        version: "0.1.0",
        subcommands: [
            UpCommand.self, ServerCommand.self,
            ApplyCommand.self, GetCommand.self, DescribeCommand.self, DeleteCommand.self,
            LogsCommand.self, ExecCommand.self, ExposeCommand.self, ImageCommand.self, RegistryCommand.self, AgentCommand.self, TokenCommand.self, UserCommand.self, MonitoringCommand.self, TopCommand.self, AuditCommand.self, NodeCommand.self, TraceCommand.self, CleanupCommand.self,
            BackupCommand.self, RestoreCommand.self, VolumeCommand.self,
            CompletionCommand.self,
        ]
    )
}
