import BerthCore
import BerthTestSupport
import Foundation

/// `berth up` as an ingress node on free ports, with the clients the ingress tests use:
/// kubectl and curl (both off the cooperative pool: a blocked pool thread — a rollout waiting,
/// a curl timing out — stalls the other suites of a parallel run), and a teardown that stops
/// HAProxy as `berth cleanup` does (it outlives the agent by design, as conmon does).
struct IngressFixture {
    let server: BerthServerProcess
    let bridge: String
    let namespace: String
    let directory: String
    let ports: (http: Int, https: Int)

    init(node: String, bridge: String, podSubnet: String, serviceCIDR: String, namespace: String) async throws {
        ports = (http: try await Self.freePort(), https: try await Self.freePort())
        server = BerthServerProcess(role: "up", extraArguments: [
            "--node-name", node, "--bridge-name", bridge, "--pod-subnet", podSubnet, "--service-cidr", serviceCIDR,
            "--ingress-node", "--ingress-http-port", String(ports.http), "--ingress-https-port", String(ports.https),
        ])
        self.bridge = bridge
        self.namespace = namespace
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-\(bridge)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var haproxyConfig: String { server.dataDirectory + "/node/ingress/haproxy.cfg" }

    func kubectl(_ arguments: [String], input: String? = nil) async throws -> CommandResult {
        // Longer than `rollout status --timeout=90s`, so kubectl's own answer is what we see.
        try await MonitoringFixture.run(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input, timeout: 120)
    }

    struct Answer: CustomStringConvertible {
        var code: String
        var version: String
        var body: String
        var description: String { "\(code) HTTP/\(version): \(body.prefix(300))" }
    }

    /// A request to 127.0.0.1 on `port` (default: the ingress HTTP or HTTPS port) for `host`.
    func curl(_ path: String, host: String, port: Int? = nil, tls: Bool = false, extra: [String] = []) async throws -> Answer {
        let port = port ?? (tls ? ports.https : ports.http)
        var arguments = ["-s", "-m", "5", "-w", "\n%{http_code} %{http_version}", "--resolve", "\(host):\(port):127.0.0.1"] + extra
        if tls { arguments += ["--cacert", directory + "/tls.crt"] }
        arguments.append("\(tls ? "https" : "http")://\(host):\(port)\(path)")
        let result = try await MonitoringFixture.run("/usr/bin/curl", arguments, timeout: 15)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let status = (lines.last ?? "").split(separator: " ").map(String.init)
        return Answer(code: status.first ?? "", version: status.count > 1 ? status[1] : "",
                      body: lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func tearDown() {
        // HAProxy's alerts, if any, for a failure's diagnosis (its warnings are mostly the old
        // worker's proxies stopping at each reload).
        if let log = try? String(contentsOfFile: server.dataDirectory + "/node/ingress/haproxy.log", encoding: .utf8) {
            let alerts = log.split(separator: "\n").filter { $0.contains("ALERT") }
            if !alerts.isEmpty { FileHandle.standardError.write(Data("haproxy.log alerts:\n\(alerts.suffix(40).joined(separator: "\n"))\n".utf8)) }
        }
        _ = try? runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath, "delete", "namespace", namespace, "--wait=false"])
        server.stop()
        HostLeftovers.remove(dataDirectory: server.dataDirectory)
        _ = try? runCommand(BerthServerProcess.binary, ["cleanup", "--data-dir", server.dataDirectory, "--bridge-name", bridge])
        server.cleanUp()
        HostLeftovers.removeBridge(bridge)
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func freePort() async throws -> Int {
        let result = try await MonitoringFixture.run("/usr/bin/python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1]); s.close()"])
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 18080
    }
}
