import BerthCore
import Foundation

/// The parts of a kubeconfig Berth reads and writes: one cluster, one user, one context.
public struct Kubeconfig: Sendable {
    public var server: String
    /// PEM of the CA that signed the server's certificate.
    public var certificateAuthority: String?
    public var insecureSkipTLSVerify = false
    public var token: String?
    /// PEM client certificate and key, for mutual TLS (node agents that joined).
    public var clientCertificate: String?
    public var clientKey: String?
    public var namespace: String?

    public init(server: String, certificateAuthority: String?, token: String?, namespace: String? = nil) {
        self.server = server
        self.certificateAuthority = certificateAuthority
        self.token = token
        self.namespace = namespace
    }

    /// `--kubeconfig`, then `$KUBECONFIG`, then the all-in-one default (in `$BERTH_DATA_DIR`
    /// or /var/lib/berth), then `~/.kube/config`.
    public static func defaultPath(explicit: String?) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let environment = ProcessInfo.processInfo.environment["KUBECONFIG"], !environment.isEmpty {
            return environment.split(separator: ":").first.map(String.init) ?? environment
        }
        let dataDirectory = ProcessInfo.processInfo.environment["BERTH_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/berth"
        let allInOne = dataDirectory + "/admin.kubeconfig"
        if FileManager.default.fileExists(atPath: allInOne) { return allInOne }
        return NSHomeDirectory() + "/.kube/config"
    }

    public static func load(path: String) throws(BerthError) -> Kubeconfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw BerthError(.notFound, "failed to read kubeconfig \(path): no such file (start the platform with `berth up` or pass --kubeconfig)")
        }
        let document = try YAMLConversion.parseDocuments(text).first ?? [:]
        let contextName = document["current-context"]?.stringValue
        let contexts = document["contexts"]?.arrayValue ?? []
        let context = contexts.first { $0["name"]?.stringValue == contextName } ?? contexts.first
        let clusterName = context?.value(at: ["context", "cluster"])?.stringValue
        let userName = context?.value(at: ["context", "user"])?.stringValue
        let clusters = document["clusters"]?.arrayValue ?? []
        let users = document["users"]?.arrayValue ?? []
        guard let cluster = (clusters.first { $0["name"]?.stringValue == clusterName } ?? clusters.first)?["cluster"],
              let server = cluster["server"]?.stringValue
        else { throw BerthError(.badRequest, "failed to read kubeconfig \(path): no cluster with a server") }
        var ca: String?
        if let data = cluster["certificate-authority-data"]?.stringValue, let bytes = Base64.decode(data) {
            ca = String(decoding: bytes, as: UTF8.self)
        } else if let file = cluster["certificate-authority"]?.stringValue {
            ca = try? String(contentsOfFile: file, encoding: .utf8)
        }
        let user = (users.first { $0["name"]?.stringValue == userName } ?? users.first)?["user"]
        var config = Kubeconfig(server: server, certificateAuthority: ca, token: user?["token"]?.stringValue,
                                namespace: context?.value(at: ["context", "namespace"])?.stringValue)
        config.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"] == .bool(true)
        if let data = user?["client-certificate-data"]?.stringValue, let bytes = Base64.decode(data) { config.clientCertificate = String(decoding: bytes, as: UTF8.self) }
        if let data = user?["client-key-data"]?.stringValue, let bytes = Base64.decode(data) { config.clientKey = String(decoding: bytes, as: UTF8.self) }
        return config
    }

    /// `userName` names the credentials in the file (admin, node, or a user's own name).
    public func yaml(userName: String? = nil) -> String {
        let entry = userName ?? (clientCertificate == nil ? "admin" : "node")
        let ca = Base64.encode(Array((certificateAuthority ?? "").utf8))
        var user = "    token: \(token ?? "")"
        if let clientCertificate, let clientKey {
            user = "    client-certificate-data: \(Base64.encode(Array(clientCertificate.utf8)))\n    client-key-data: \(Base64.encode(Array(clientKey.utf8)))"
        }
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - name: berth
              cluster:
                server: \(server)
                certificate-authority-data: \(ca)
            users:
            - name: \(entry)
              user:
            \(user)
            contexts:
            - name: berth
              context:
                cluster: berth
                user: \(entry)
                namespace: \(namespace ?? "default")
            current-context: berth

            """
    }
}
