import ArgumentParser
import BerthAPIServer
import BerthClient
import BerthCore
import Foundation

/// `berth user create NAME --group G… [--ttl 720h] --kubeconfig-out FILE`: a user with a client
/// certificate from the cluster CA (CN = NAME, O = each group), handed out as a kubeconfig.
/// What the user may do is up to RBAC: bind them (or a group) to a role.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users who authenticate with client certificates.",
                                                    subcommands: [UserCreateCommand.self])
}

struct UserCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Issue a user's certificate and write a kubeconfig for it.")

    @Argument(help: "The user's name (the certificate's CN; RBAC subjects name it as kind User).") var name: String
    @Option(name: .customLong("group"), help: "A group the user is in (the certificate's O); repeat for several.") var groups: [String] = []
    @Option(help: "How long the certificate is valid, e.g. 24h, 30d.") var ttl = "720h"
    @Option(help: "Where to write the kubeconfig.") var kubeconfigOut: String
    @Option(help: "The server's data directory (the cluster CA is read from it; run this on a server host).") var dataDir = DataDirectory.standard

    func run() async throws {
        guard !name.isEmpty, !name.contains("\n") else { throw ValidationError("the user name must not be empty") }
        guard !name.hasPrefix("system:") else { throw ValidationError("names starting with system: are Berth's and Kubernetes' own") }
        if groups.contains(UserInfo.masters) { throw ValidationError("\(UserInfo.masters) may do anything, RBAC or not: bind the user to cluster-admin instead") }
        guard let seconds = TokenCreateCommand.parseDuration(ttl), seconds > 0 else { throw ValidationError("invalid --ttl \(ttl): use e.g. 24h or 30d") }
        let caCertificate: String, caKey: String
        do {
            caCertificate = try String(contentsOfFile: dataDir + "/ca.crt", encoding: .utf8)
            caKey = try String(contentsOfFile: dataDir + "/ca.key", encoding: .utf8)
        } catch {
            throw ValidationError("cannot read the cluster CA in \(dataDir) (ca.crt, ca.key): run this on a server host, as root, or pass --data-dir")
        }
        let admin = try Kubeconfig.load(path: dataDir + "/admin.kubeconfig")
        let issuer = try NodeCertificateIssuer(caCertificatePEM: caCertificate, caKeyPEM: caKey)
        let (certificate, key) = try issuer.clientCertificate(name: name, groups: groups, validity: seconds)
        var config = Kubeconfig(server: admin.server, certificateAuthority: caCertificate, token: nil)
        config.clientCertificate = certificate
        config.clientKey = key
        guard FileManager.default.createFile(atPath: kubeconfigOut, contents: Data(config.yaml(userName: name).utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write \(kubeconfigOut)")
        }
        let expiry = TableCells.formatTimestamp(Date().addingTimeInterval(seconds))
        print("user \(name) (groups: \(groups.isEmpty ? "none" : groups.joined(separator: ", "))), valid until \(expiry): \(kubeconfigOut)")
        printError("grant access with RBAC, e.g.: kubectl create rolebinding \(name)-edit --clusterrole=edit --user=\(name) --namespace=NS")
    }
}
