import BerthCore
import BerthMetrics
import Foundation

/// Checks a PrometheusMetric's query with Prometheus' own parser (`promtool check rules` on
/// a one-rule file) before it is stored: a malformed query is a 422 naming `spec.query` with
/// the parser's message. Without promtool on the server the query is stored unchecked, with a
/// warning saying so.
extension APIServer {
    static let promtool = "/usr/bin/promtool"

    func checkPromQL(_ object: JSONValue) async throws(BerthError) {
        guard let query = object.value(at: ["spec", "query"])?.stringValue else { return }
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            AdmissionNotes.current?.warnings.append("the query was not checked: promtool is not installed on the server")
            return
        }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        if let problem = await Self.promQLProblem(query) {
            throw BerthError.invalid(kind: "PrometheusMetric", name: name, group: "berth.dev", causes: [.invalid("spec.query", query, problem)])
        }
    }

    /// The parser's complaint about `query`, or nil when it parses.
    static func promQLProblem(_ query: String) async -> String? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("berth-promql-\(UUID().uuidString).yml").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let rules = "groups:\n  - name: check\n    rules:\n      - record: berth_query_check\n        expr: \(PrometheusSetup.quoted(query))\n"
        guard FileManager.default.createFile(atPath: file, contents: Data(rules.utf8)) else { return nil }
        let (status, output) = await run(promtool, ["check", "rules", file])
        guard status != 0 else { return nil }
        // promtool: `FILE: 5:15: group "check", rule 1, "berth_query_check": could not parse expression: 1:9: parse error: …`
        if let range = output.range(of: "could not parse expression: ") {
            return String(output[range.upperBound...].prefix { $0 != "\n" })
        }
        return output.split(separator: "\n").first { $0.contains("error") }.map(String.init) ?? "the query does not parse"
    }

    /// Runs a short command off the server's threads; its exit status and its output.
    static func run(_ executable: String, _ arguments: [String]) async -> (Int32, String) {
        await withCheckedContinuation { continuation in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            process.terminationHandler = { process in
                let data = (try? pipe.fileHandleForReading.readToEnd()) ?? Data()
                continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
            }
            do {
                try process.run()
            } catch {
                continuation.resume(returning: (127, "\(error)"))
            }
        }
    }
}
