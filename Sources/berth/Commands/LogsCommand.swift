import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [--timestamps] [--since 5m]`, and
/// `berth logs -l app=web [--since 1h] [--grep ERROR] [-f]`: every pod of an app on every node,
/// ended ones included, newest first, then followed; `berth logs --ingress [--node N]`: the
/// ingress nodes' access logs.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", abstract: "Print the logs of a container in a pod, or search the logs of all pods with some labels.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The pod (or -l to search all pods with some labels).") var pod: String?
    @Option(name: [.short, .long], help: "The container (needed when the pod has several).") var container: String?
    @Option(name: [.customShort("l"), .customLong("selector")], help: "Search the logs of every pod with these labels (e.g. app=web), ended pods included.") var selector: String?
    @Option(help: "Only lines containing this text (with -l).") var grep: String?
    @Option(help: "At most this many lines of history (with -l).") var limit = 1000
    @Flag(name: [.short, .long], help: "Keep streaming new lines.") var follow = false
    @Option(help: "Only the last N lines.") var tail: Int?
    @Flag(name: [.short, .long], help: "The previous instance of the container.") var previous = false
    @Flag(help: "Prefix each line with its time.") var timestamps = false
    @Option(help: "Only lines newer than this (e.g. 30s, 5m, 2h).") var since: String?
    @Flag(help: "The ingress access log (HAProxy's, one line per request) of the ingress nodes instead of a pod's.") var ingress = false
    @Option(help: "With --ingress: only this node's access log.") var node: String?

    func run() async throws {
        if ingress { return try await ingressAccessLog() }
        if let selector { return try await search(selector) }
        guard let pod else { throw ValidationError("name a pod, or search with -l LABELS") }
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

    /// Every ingress node's access log (or `--node`'s), through the node proxy; followed
    /// together with `-f`, each line prefixed with its node when there are several.
    func ingressAccessLog() async throws {
        try await reportingErrors {
            try await client.withClient { api in
                var query: [String] = []
                if follow { query.append("follow=true") }
                if let tail { query.append("tailLines=\(tail)") }
                if timestamps { query.append("timestamps=true") }
                if let since { query.append("sinceSeconds=\(try Self.seconds(since))") }
                var nodes = node.map { [$0] } ?? []
                if nodes.isEmpty {
                    let list = try await api.request(.GET, "/api/v1/nodes?labelSelector=berth.dev%2Fingress%3Dtrue").checked().json()
                    nodes = (list["items"]?.arrayValue ?? []).compactMap { $0.value(at: ["metadata", "name"])?.stringValue }
                }
                guard !nodes.isEmpty else { throw BerthError(.notFound, "no node carries ingress (label one berth.dev/ingress=true)") }
                let suffix = query.isEmpty ? "" : "?" + query.joined(separator: "&")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for name in nodes {
                        let path = "/api/v1/nodes/\(name)/proxy/logs/ingress" + suffix
                        let prefix = nodes.count > 1 ? Array("\(name): ".utf8) : []
                        group.addTask {
                            var carry: [UInt8] = []
                            for try await chunk in try await api.stream(path) {
                                carry += chunk
                                var output: [UInt8] = []
                                while let newline = carry.firstIndex(of: 0x0A) {
                                    output += prefix + carry[...newline]
                                    carry.removeSubrange(...newline)
                                }
                                if !output.isEmpty { writeOutput(output) }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    /// The search API: JSON lines turned into `TIME POD/CONTAINER: LINE`.
    func search(_ selector: String) async throws {
        try await reportingErrors {
            try await client.withClient { api in
                func encoded(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? text }
                var query = ["labelSelector=\(encoded(selector))", "limit=\(limit)"]
                if let since { query.append("sinceSeconds=\(try Self.seconds(since))") }
                if let grep { query.append("grep=\(encoded(grep))") }
                if follow { query.append("follow=true") }
                let path = "/berth/v1/logs/namespaces/\(client.effectiveNamespace(api))?" + query.joined(separator: "&")
                var carry: [UInt8] = []
                for try await chunk in try await api.stream(path) {
                    carry += chunk
                    while let newline = carry.firstIndex(of: 0x0A) {
                        let line = Array(carry[..<newline])
                        carry.removeSubrange(...newline)
                        guard let entry = try? JSONParser.parse(line) else { continue }
                        let ended = entry["ended"] == .bool(true) ? " (ended)" : ""
                        let text = "\(entry["time"]?.stringValue ?? "") \(entry["pod"]?.stringValue ?? "")/\(entry["container"]?.stringValue ?? "")\(ended): \(entry["line"]?.stringValue ?? "")\n"
                        writeOutput(Array(text.utf8))
                    }
                }
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
