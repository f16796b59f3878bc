import ArgumentParser
import BerthClient
import BerthCore
import BerthMetrics
import Foundation

/// `berth monitoring prometheus-config` and `berth monitoring rules`: what a Prometheus needs
/// to watch this cluster by itself.
struct MonitoringCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "monitoring", abstract: "Configure Prometheus and its alerts for this cluster.",
                                                    subcommands: [PrometheusConfigCommand.self, MonitoringRulesCommand.self])
}

struct PrometheusConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prometheus-config",
        abstract: "Print a Prometheus configuration that discovers the server, every node and annotated pods through the API.",
        discussion: """
        Creates (or reuses) the ServiceAccount berth-system/prometheus with the ClusterRole berth:prometheus (read nodes, \
        their metrics proxy, services, endpoints and pods; GET /metrics), asks for a token for it, writes the cluster CA \
        to --ca-file and prints prometheus.yml with both.
        """)

    @OptionGroup var options: ClientOptions

    @Option(help: "Where to write the cluster CA the configuration names.")
    var caFile = "berth-ca.crt"

    @Option(help: "How long the token stays valid, e.g. 24h, 30d.")
    var tokenTtl = "8760h"

    @Option(help: "Scrape and rule evaluation interval.")
    var interval = "10s"

    @Option(help: "A rules file for Prometheus to load (see `berth monitoring rules`).")
    var rulesFile: String?

    @Option(help: "An Alertmanager to send alerts to, HOST:PORT.")
    var alertmanager: String?

    @Option(help: "How Prometheus finds targets: http (http_sd_configs from Berth, for any build, Debian's included) or kubernetes (kubernetes_sd_configs; upstream builds).")
    var discovery = "http"

    func run() async throws {
        guard let seconds = TokenCreateCommand.parseDuration(tokenTtl), seconds >= 600 else { throw ValidationError("invalid --token-ttl \(tokenTtl): at least 10m") }
        guard ["http", "kubernetes"].contains(discovery) else { throw ValidationError("--discovery is http or kubernetes, not \(discovery)") }
        try await reportingErrors {
            try await options.withClient { client in
                for (path, object) in Self.objects {
                    let reply = try await client.request(.POST, path, body: JSONWriter.bytes(object))
                    if reply.status != 409 { _ = try reply.checked() }
                }
                let request: JSONValue = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": ["expirationSeconds": .number(String(Int(seconds)))]]
                let issued = try await client.request(.POST, "/api/v1/namespaces/berth-system/serviceaccounts/prometheus/token", body: JSONWriter.bytes(request)).checked().json()
                guard let token = issued.value(at: ["status", "token"])?.stringValue else { throw BerthError(.internalError, "the server issued no token") }
                let caPath = URL(fileURLWithPath: caFile).standardizedFileURL.path
                guard FileManager.default.createFile(atPath: caPath, contents: Data((client.config.certificateAuthority ?? "").utf8), attributes: [.posixPermissions: 0o644]) else {
                    throw BerthError(.badRequest, "cannot write \(caPath)")
                }
                let rules = rulesFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
                print(PrometheusSetup.scrapeConfig(.init(apiServer: client.config.server, token: token, caFile: caPath), interval: interval,
                                                   rulesFile: rules, alertmanager: alertmanager, httpDiscovery: discovery == "http"), terminator: "")
            }
        }
    }

    /// The account, its role and the binding (409 when they exist: left as they are).
    static var objects: [(String, JSONValue)] {
        [
            ("/api/v1/namespaces/berth-system/serviceaccounts", ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "prometheus", "namespace": "berth-system"]]),
            ("/apis/rbac.authorization.k8s.io/v1/clusterroles", [
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": ["name": "berth:prometheus"],
                "rules": [
                    ["apiGroups": [""], "resources": ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints", "pods"], "verbs": ["get", "list", "watch"]],
                    ["apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]],
                    ["nonResourceURLs": ["/metrics", "/metrics/*", "/berth/v1/prometheus/targets"], "verbs": ["get"]],
                ],
            ]),
            ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", [
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": ["name": "berth:prometheus"],
                "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "berth:prometheus"],
                "subjects": [["kind": "ServiceAccount", "name": "prometheus", "namespace": "berth-system"]],
            ]),
        ]
    }
}

struct MonitoringRulesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "Print Prometheus alerting rules for the platform (check them with `promtool check rules`).")

    @Option(name: .customLong("for"), help: "Replace every alert's pending duration (e.g. 0s to fire at once).")
    var pending: String?

    func run() async throws {
        print(PrometheusSetup.rules(duration: pending), terminator: "")
    }
}
