import ArgumentParser
import BerthAPIServer
import BerthClient
import BerthCore
import Foundation

/// `berth token create`: a bootstrap token for `berth agent --join`, stored as a Secret in
/// kube-system the way Kubernetes stores them, with an expiry.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage bootstrap tokens for joining hosts, and the ServiceAccount token signing key.",
                                                    subcommands: [TokenCreateCommand.self, RotateSigningKeyCommand.self])
}

struct TokenCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a bootstrap token and print the join command.")

    @OptionGroup var options: ClientOptions

    @Option(help: "How long the token stays valid, e.g. 30m, 24h, 7d.")
    var ttl = "24h"

    func run() async throws {
        guard let seconds = Self.parseDuration(ttl), seconds > 0 else { throw ValidationError("invalid --ttl \(ttl): use e.g. 30m, 24h or 7d") }
        try await reportingErrors {
            try await options.withClient { client in
                let (id, secret) = BootstrapToken.generate()
                let expiration = TableCells.formatTimestamp(Date().addingTimeInterval(seconds))
                let object: JSONValue = [
                    "apiVersion": "v1", "kind": "Secret", "type": .string(BootstrapToken.secretType),
                    "metadata": ["name": .string("bootstrap-token-\(id)"), "namespace": "kube-system"],
                    "stringData": [
                        "token-id": .string(id), "token-secret": .string(secret), "expiration": .string(expiration),
                        "usage-bootstrap-authentication": "true", "description": "created by berth token create",
                    ],
                ]
                _ = try await client.request(.POST, "/api/v1/namespaces/kube-system/secrets", body: JSONWriter.bytes(object)).checked()
                let hash = try NodeCertificateIssuer.caHash(pem: client.config.certificateAuthority ?? "")
                print("\(id).\(secret)")
                printError("join a host (valid until \(expiration)):\n  berth agent --join \(client.config.server) --token \(id).\(secret) --ca-cert-hash \(hash)")
                if let note = Self.unreachableNote(client.config.server) { printError(note) }
            }
        }
    }

    /// A server on a loopback address cannot be joined from another host: say so, and how to
    /// listen where others reach it (the serving certificate follows `--listen`).
    static func unreachableNote(_ server: String) -> String? {
        guard let host = URL(string: server)?.host, host == "localhost" || host.hasPrefix("127.") || host == "::1" else { return nil }
        return "note: the API server listens on \(host), which other hosts cannot reach. Restart it on an address they can, "
            + "e.g. `make run LISTEN=100.72.0.10:6443` or `berth up --listen 100.72.0.10:6443` (this host's address), "
            + "create a new token, and join with https://THAT-ADDRESS:6443."
    }

    static func parseDuration(_ text: String) -> TimeInterval? {
        guard let unit = text.last, let value = Double(text.dropLast()) else { return Double(text) }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return Double(text)
        }
    }
}

/// `berth token rotate-signing-key [--retire-after 168h]`: a new key signs ServiceAccount tokens
/// from now on; tokens signed with older keys keep working until the older keys retire.
struct RotateSigningKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rotate-signing-key",
                                                    abstract: "Sign ServiceAccount tokens with a new key; older keys retire after --retire-after.")

    @OptionGroup var options: ClientOptions

    @Option(help: "How long tokens signed with the older keys stay valid, e.g. 0s, 1h, 7d.")
    var retireAfter = "168h"

    func run() async throws {
        guard let seconds = TokenCreateCommand.parseDuration(retireAfter), seconds >= 0 else {
            throw ValidationError("invalid --retire-after \(retireAfter): use e.g. 0s, 1h or 7d")
        }
        try await reportingErrors {
            try await options.withClient { client in
                let reply = try await client.request(.POST, SigningKeyPaths.rotate + "?retireAfter=\(Int(seconds))").checked()
                let ring = try JSONParser.parse(reply.body)
                print("signing key \(ring["current"]?.stringValue ?? "")")
                for key in ring["keys"]?.arrayValue ?? [] where key["retireAt"] != nil {
                    print("  \(key["kid"]?.stringValue ?? "") retires \(key["retireAt"]?.stringValue ?? "")")
                }
            }
        }
    }
}
