import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [--timestamps] [--since 5m]`.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print the logs of a container in a pod.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The pod.") var pod: String
    @Option(name: [.short, .long], help: "The container (needed when the pod has several).") var container: String?
    @Flag(name: [.short, .long], help: "Keep streaming new lines.") var follow = false
    @Option(help: "Only the last N lines.") var tail: Int?
    @Flag(name: [.short, .long], help: "The previous instance of the container.") var previous = false
    @Flag(help: "Prefix each line with its time.") var timestamps = false
    @Option(help: "Only lines newer than this (e.g. 30s, 5m, 2h).") var since: String?

    func run() async throws {
        try await reportingErrors {
            try await client.withClient { api in
            var query: [String] = []
            if let container { query.append("container=\(container)") }
            if follow { query.append("follow=true") }
            if let tail { query.append("tailLines=\(tail)") }
            if previous { query.append("previous=true") }
            if timestamps { query.append("timestamps=true") }
            if let since { query.append("sinceSeconds=\(try Self.seconds(since))") }
            let path = "/api/v1/namespaces/\(client.effectiveNamespace(api))/pods/\(pod)/log" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
            for try await chunk in try await api.stream(path) { writeOutput(chunk) }
            }
        }
    }

    static func seconds(_ text: String) throws(BerthError) -> Int {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600]
        guard let unit = text.last, let factor = units[unit], let value = Int(text.dropLast()), value > 0 else {
            throw BerthError(.badRequest, "invalid duration \"\(text)\": use a number followed by s, m or h")
        }
        return value * factor
    }
}
