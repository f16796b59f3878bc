import ArgumentParser
import BerthClient
import BerthCore
import Foundation

/// `berth top nodes|pods|deployments [--since 30m]`: use now (metrics.k8s.io, as `kubectl top`)
/// or over a past window from the server's history (no Prometheus needed).
struct TopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Show CPU, memory and network use of nodes, pods or workloads, now or over the last --since.")

    @OptionGroup var options: ClientOptions

    @Argument(help: "nodes, pods, deployments, statefulsets or daemonsets.")
    var kind: String

    @Option(name: [.short, .long], help: "Pods with these labels (pods only, without --since).")
    var selector: String?

    @Flag(help: "One row per container (pods only, without --since).")
    var containers = false

    @Option(help: "A window of history, e.g. 30m or 1h: the newest, average and highest use in it.")
    var since: String?

    func run() async throws {
        let plural = ["node": "nodes", "no": "nodes", "pod": "pods", "po": "pods", "deploy": "deployments", "deployment": "deployments",
                      "statefulset": "statefulsets", "sts": "statefulsets", "daemonset": "daemonsets", "ds": "daemonsets"][kind] ?? kind
        guard ["nodes", "pods", "deployments", "statefulsets", "daemonsets"].contains(plural) else {
            throw ValidationError("top shows nodes, pods, deployments, statefulsets or daemonsets, not \(kind)")
        }
        try await reportingErrors {
            try await options.withClient { client in
                let namespace = options.effectiveNamespace(client)
                if let since {
                    let path = plural == "nodes" ? "/berth/v1/history/nodes" : "/berth/v1/history/namespaces/\(namespace)/\(plural)"
                    let history = try await client.request(.GET, path + "?since=\(since)").checked().json()
                    Self.printHistory(history)
                    return
                }
                guard plural == "nodes" || plural == "pods" else { throw BerthError(.badRequest, "\(plural) are shown over a window: add --since, e.g. --since 10m") }
                var path = plural == "nodes" ? "/apis/metrics.k8s.io/v1beta1/nodes" : "/apis/metrics.k8s.io/v1beta1/namespaces/\(namespace)/pods"
                if let selector { path += "?labelSelector=" + (selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector) }
                let list = try await client.request(.GET, path).checked().json()
                var rows: [[String]] = []
                for item in list["items"]?.arrayValue ?? [] {
                    let name = item.value(at: ["metadata", "name"])?.stringValue ?? ""
                    if plural == "nodes" {
                        rows.append([name, Self.cores(item.value(at: ["usage", "cpu"])), Self.bytes(item.value(at: ["usage", "memory"]))])
                    } else if containers {
                        for container in item["containers"]?.arrayValue ?? [] {
                            rows.append([name, container["name"]?.stringValue ?? "", Self.cores(container.value(at: ["usage", "cpu"])), Self.bytes(container.value(at: ["usage", "memory"]))])
                        }
                    } else {
                        let all = item["containers"]?.arrayValue ?? []
                        let cpu = all.reduce(Int128(0)) { $0 + ((try? Quantity(parsing: $1.value(at: ["usage", "cpu"])?.stringValue ?? "0"))?.nanos ?? 0) }
                        let memory = all.reduce(Int128(0)) { $0 + ((try? Quantity(parsing: $1.value(at: ["usage", "memory"])?.stringValue ?? "0"))?.nanos ?? 0) }
                        rows.append([name, "\(cpu / 1_000_000)m", "\(memory / 1_000_000_000 / 1_048_576)Mi"])
                    }
                }
                if rows.isEmpty { throw BerthError(.notFound, "metrics not available yet") }
                let headers = plural == "nodes" ? ["NAME", "CPU(cores)", "MEMORY(bytes)"] : (containers ? ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"] : ["NAME", "CPU(cores)", "MEMORY(bytes)"])
                printTable(headers, rows)
            }
        }
    }

    static func cores(_ value: JSONValue?) -> String {
        guard let quantity = try? Quantity(parsing: value?.stringValue ?? "") else { return "<unknown>" }
        return "\(quantity.milliValue)m"
    }

    static func bytes(_ value: JSONValue?) -> String {
        guard let quantity = try? Quantity(parsing: value?.stringValue ?? "") else { return "<unknown>" }
        return "\(quantity.value / 1_048_576)Mi"
    }

    /// One row per series: newest, average and highest CPU and memory in the window, the
    /// average network rates, and how many points it had.
    static func printHistory(_ history: JSONValue) {
        var rows: [[String]] = []
        for series in history["series"]?.arrayValue ?? [] {
            let points = series["points"]?.arrayValue ?? []
            func values(_ field: String) -> [Double] {
                points.compactMap { point in
                    if case .number(let text) = point[field] ?? .null { return Double(text) }
                    return nil
                }
            }
            let cpu = values("cpu"), memory = values("memory"), receive = values("receive"), transmit = values("transmit")
            func average(_ list: [Double]) -> Double { list.isEmpty ? 0 : list.reduce(0, +) / Double(list.count) }
            func millicores(_ value: Double?) -> String { value.map { "\(Int(($0 * 1000).rounded()))m" } ?? "-" }
            func mebibytes(_ value: Double?) -> String { value.map { "\(Int(($0 / 1_048_576).rounded()))Mi" } ?? "-" }
            func rate(_ value: Double) -> String { value >= 1_048_576 ? String(format: "%.1fMi/s", value / 1_048_576) : String(format: "%.1fKi/s", value / 1024) }
            rows.append([series["name"]?.stringValue ?? "", millicores(cpu.last), millicores(cpu.isEmpty ? nil : average(cpu)), millicores(cpu.max()),
                         mebibytes(memory.last), mebibytes(memory.max()), rate(average(receive)), rate(average(transmit)), String(points.count)])
        }
        if rows.isEmpty {
            printError("no history in that window yet")
            return
        }
        printTable(["NAME", "CPU(now)", "CPU(avg)", "CPU(max)", "MEMORY(now)", "MEMORY(max)", "RX(avg)", "TX(avg)", "POINTS"], rows)
    }
}
