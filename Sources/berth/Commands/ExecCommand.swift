import ArgumentParser
import BerthClient
import BerthCore
import CBerthSys
import Foundation

/// `berth exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [ARGS...]`, over the same WebSocket
/// protocol kubectl uses.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a container of a pod.")

    @OptionGroup var client: ClientOptions
    @Flag(name: [.short, .customLong("stdin")], help: "Pass stdin to the command.") var interactive = false
    @Flag(name: [.short, .customLong("tty")], help: "Allocate a terminal.") var tty = false
    @Option(name: [.short, .long], help: "The container (default: the pod's first).") var container: String?
    @Argument(help: "The pod.") var pod: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments (after --).") var command: [String] = []

    func run() async throws {
        var code: Int32 = 0
        try await reportingErrors {
            try await client.withClient { api in
            let arguments = command.first == "--" ? Array(command.dropFirst()) : command
            guard !arguments.isEmpty else { throw BerthError(.badRequest, "you must specify at least one command for the container") }
            let (input, feed) = AsyncStream<ExecInput>.makeStream()
            let terminal = tty && isatty(0) == 1
            var saved = [UInt8](repeating: 0, count: 128)
            if terminal {
                _ = berth_make_raw(0, &saved, saved.count)
                var rows: UInt16 = 0, cols: UInt16 = 0
                if berth_get_winsize(0, &rows, &cols) == 0 { feed.yield(.resize(width: Int(cols), height: Int(rows))) }
            }
            if interactive {
                Thread.detachNewThread {
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let count = read(0, &buffer, buffer.count)
                        if count <= 0 { break }
                        feed.yield(.data(Array(buffer[0..<count])))
                    }
                    feed.yield(.end)
                }
            }
            do {
                code = try await api.exec(namespace: client.effectiveNamespace(api), pod: pod, container: container, command: arguments,
                                          stdin: interactive, tty: tty, input: input) { stream, bytes in
                    writeOutput(bytes, to: stream == 2 ? 2 : 1)
                }
            } catch {
                if terminal { _ = berth_restore_terminal(0, saved) }
                throw error
            }
            if terminal { _ = berth_restore_terminal(0, saved) }
            feed.finish()
            }
        }
        if code != 0 { throw ExitCode(code) }
    }
}
