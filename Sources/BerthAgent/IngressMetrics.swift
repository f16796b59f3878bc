import BerthCore
import BerthMetrics
import Foundation

/// The ingress HAProxy's request metrics in the agent's `/metrics`, read from its runtime API
/// (`show stat`) at scrape time: requests and responses by class of status code, bytes and
/// current sessions per frontend and per backend (a backend is a Service port of an Ingress,
/// or an HTTPRoute rule: `NAMESPACE_SERVICE_PORT`, `gw_NAMESPACE_ROUTE_RULE`), and the
/// backends' average response time. Nothing is rendered on a node that carries no ingress.
enum IngressMetrics {
    struct Row {
        var proxy: String
        var kind: String  // FRONTEND, BACKEND
        var fields: [String: String]
        func number(_ name: String) -> Double? { fields[name].flatMap { Double($0) } }
    }

    /// `show stat`'s CSV (a `# pxname,svname,…` header, then one row per proxy and server):
    /// the frontend and backend rows.
    static func parse(_ csv: String) -> [Row] {
        var lines = csv.split(separator: "\n")
        guard let header = lines.first, header.hasPrefix("# ") else { return [] }
        let names = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        lines.removeFirst()
        return lines.compactMap { line in
            let values = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard values.count >= 2, values[1] == "FRONTEND" || values[1] == "BACKEND" else { return nil }
            var fields: [String: String] = [:]
            for (index, name) in names.enumerated() where index < values.count && !values[index].isEmpty { fields[name] = values[index] }
            return Row(proxy: values[0], kind: values[1], fields: fields)
        }
    }

    /// HAProxy's own rate-limit tables and answers are proxies too; they carry no traffic of interest.
    static func isRoute(_ row: Row) -> Bool { !row.proxy.hasPrefix("berth-rate-") && row.proxy != "berth-no-route" }

    static func render(_ rows: [Row], into writer: inout ExpositionWriter) {
        let rows = rows.filter(isRoute)
        writer.family("berth_ingress_up", .gauge, help: "Whether the node's ingress HAProxy answered its runtime API.")
        writer.sample("berth_ingress_up", [:], rows.isEmpty ? 0 : 1)
        guard !rows.isEmpty else { return }
        let frontends = rows.filter { $0.kind == "FRONTEND" }, backends = rows.filter { $0.kind == "BACKEND" }
        writer.family("berth_ingress_frontend_requests_total", .counter, help: "HTTP requests the ingress received.")
        for row in frontends { writer.sample("berth_ingress_frontend_requests_total", ["frontend": row.proxy], row.number("req_tot") ?? 0) }
        writer.family("berth_ingress_http_responses_total", .counter, help: "HTTP responses by class of status code, per ingress frontend or backend.")
        for row in frontends + backends {
            let side = row.kind == "FRONTEND" ? "frontend" : "backend"
            for code in ["1xx", "2xx", "3xx", "4xx", "5xx", "other"] {
                writer.sample("berth_ingress_http_responses_total", labels: [(side, row.proxy), ("code", code)], row.number("hrsp_\(code)") ?? 0)
            }
        }
        for (name, field, help) in [("berth_ingress_bytes_received_total", "bin", "Bytes received from clients (frontend) or sent to servers (backend)."),
                                    ("berth_ingress_bytes_sent_total", "bout", "Bytes sent to clients (frontend) or received from servers (backend).")] {
            writer.family(name, .counter, help: help)
            for row in frontends + backends {
                writer.sample(name, labels: [(row.kind == "FRONTEND" ? "frontend" : "backend", row.proxy)], row.number(field) ?? 0)
            }
        }
        writer.family("berth_ingress_current_sessions", .gauge, help: "Connections open now, per frontend or backend.")
        for row in frontends + backends {
            writer.sample("berth_ingress_current_sessions", labels: [(row.kind == "FRONTEND" ? "frontend" : "backend", row.proxy)], row.number("scur") ?? 0)
        }
        writer.family("berth_ingress_backend_response_time_seconds", .gauge, help: "Average response time of the backend's last 1024 requests.")
        for row in backends { writer.sample("berth_ingress_backend_response_time_seconds", labels: [("backend", row.proxy)], (row.number("rtime") ?? 0) / 1000) }
        writer.family("berth_ingress_backend_active_servers", .gauge, help: "Endpoints the backend can send to now.")
        for row in backends { writer.sample("berth_ingress_backend_active_servers", labels: [("backend", row.proxy)], row.number("act") ?? 0) }
    }

    /// The rows of the node's ingress HAProxy; nil when this node runs none.
    static func read(dataDirectory: String) async -> [Row]? {
        let socket = dataDirectory + "/ingress/admin.sock"
        guard FileManager.default.fileExists(atPath: socket) else { return nil }
        let answer = try? await BlockingThreads.shared.result { try HAProxyAdminSocket(path: socket).ask("show stat") }
        return parse(answer ?? "")
    }
}
