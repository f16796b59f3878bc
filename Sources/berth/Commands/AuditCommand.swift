import ArgumentParser
import BerthCore
import Foundation

/// `berth audit [--tenant T] [--user U] [--since 1h] [--verb V] [--namespace NS] [--denied] [--log FILE]`: the
/// audit log (`--audit-log-path` of the server, with its rotated files; by default
/// DATA-DIR/audit.log) as a table, oldest first, or the matching Events as JSON lines (`-o json`).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Read the audit log: who did what, when, and the answer.")

    @Option(help: "The audit log the server writes (its --audit-log-path; default DATA-DIR/audit.log); PATH.1 … are read too.")
    var log = DataDirectory.standard + "/audit.log"
    @Option(help: "Only requests in this tenant's namespaces.") var tenant: String?
    @Option(help: "Only this user's requests.") var user: String?
    @Option(help: "Only requests newer than this (90s, 30m, 1h, 1d).") var since: String?
    @Option(help: "Only this verb (get, list, create, …).") var verb: String?
    @Option(name: [.customShort("n"), .customLong("namespace")], help: "Only requests in this namespace.") var namespace: String?
    @Flag(help: "Only refused requests (401 and 403).") var denied = false
    @Option(name: .shortAndLong, help: "table (default) or json.") var output = "table"

    func validate() throws {
        guard output == "table" || output == "json" else { throw ValidationError("-o must be table or json") }
        if let since, TokenCreateCommand.parseDuration(since) == nil { throw ValidationError("--since \(since) is not a duration such as 30m or 1h") }
    }

    func run() async throws {
        let cutoff = since.flatMap(TokenCreateCommand.parseDuration).map { Date().addingTimeInterval(-$0) }
        // Rotated files first (PATH.N is the oldest), then the current one.
        var files = (1...100).map { "\(log).\($0)" }.filter { FileManager.default.fileExists(atPath: $0) }.reversed().map { $0 }
        guard FileManager.default.fileExists(atPath: log) || !files.isEmpty else { throw ValidationError("no audit log at \(log)") }
        files.append(log)
        var rows: [[String]] = [["TIME", "USER", "VERB", "CODE", "URI"]]
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                guard let event = try? JSONParser.parse(Array(line.utf8)), Self.matches(event, tenant: tenant, user: user, verb: verb, namespace: namespace, denied: denied, cutoff: cutoff) else { continue }
                if output == "json" {
                    print(line)
                } else {
                    rows.append([event["stageTimestamp"]?.stringValue ?? "", event.value(at: ["user", "username"])?.stringValue ?? "",
                                 event["verb"]?.stringValue ?? "", event.value(at: ["responseStatus", "code"])?.intValue.map(String.init) ?? "",
                                 event["requestURI"]?.stringValue ?? ""])
                }
            }
        }
        guard output == "table" else { return }
        if rows.count == 1 {
            printError("No audit events match.")
            return
        }
        let printer = TablePrinter(wide: false, withNamespace: false)
        print(printer.render(rows, widths: TablePrinter.widths(rows)))
    }

    static func matches(_ event: JSONValue, tenant: String?, user: String?, verb: String?, namespace: String?, denied: Bool, cutoff: Date?) -> Bool {
        if let tenant, event.value(at: ["annotations", Tenant.label])?.stringValue != tenant { return false }
        if let user, event.value(at: ["user", "username"])?.stringValue != user { return false }
        if let verb, event["verb"]?.stringValue != verb { return false }
        if let namespace, event.value(at: ["objectRef", "namespace"])?.stringValue != namespace { return false }
        if denied, ![401, 403].contains(event.value(at: ["responseStatus", "code"])?.intValue ?? 0) { return false }
        if let cutoff {
            let stamp = (event["stageTimestamp"]?.stringValue ?? "").replacingOccurrences(of: #"\.\d+Z$"#, with: "Z", options: .regularExpression)
            guard let date = TableCells.parseTimestamp(stamp), date >= cutoff else { return false }
        }
        return true
    }
}
