import ArgumentParser
import BerthAPIServer
import BerthClient
import BerthCore
import Foundation

/// `berth registry`: the built-in registry from the command line — log clients in, list
/// repositories and tags, delete, collect garbage.
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry", abstract: "Use the built-in image registry (/v2/ on the API address).",
        subcommands: [RegistryLoginCommand.self, RegistryListCommand.self, RegistryTagsCommand.self, RegistryRemoveCommand.self, RegistryGCCommand.self])

    /// `HOST:PORT` of the registry: the API server's address.
    static func host(_ client: APIClient) throws -> String {
        guard let url = URL(string: client.config.server), let host = url.host else { throw BerthError(.badRequest, "cannot read the server address \(client.config.server)") }
        return "\(host):\(url.port ?? 443)"
    }

    /// A registry reply, or its `{"errors":[…]}` as an error.
    static func checked(_ reply: APIClient.Reply) throws(BerthError) -> JSONValue {
        let body = (try? JSONParser.parse(reply.body)) ?? [:]
        guard reply.status < 300 else {
            let first = body["errors"]?.arrayValue?.first
            throw BerthError(BerthError.Code(httpStatus: reply.status),
                             "\(first?["code"]?.stringValue ?? "HTTP \(reply.status)"): \(first?["message"]?.stringValue ?? String(decoding: reply.body, as: UTF8.self))")
        }
        return body
    }
}

struct RegistryLoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Write this kubeconfig's token as registry credentials where docker, podman and skopeo read them, and trust the cluster CA for the registry.")

    @OptionGroup var options: ClientOptions
    @Option(help: "The docker config to write (default: ~/.docker/config.json).") var dockerConfig: String?
    @Option(help: "The containers auth file to write (default: ~/.config/containers/auth.json).") var authFile: String?
    @Option(help: "Where docker and podman look for registry CAs (each gets HOST:PORT/ca.crt); empty to skip.")
    var certificatesDirectories = "/etc/docker/certs.d,/etc/containers/certs.d"

    func run() async throws {
        try await reportingErrors {
            try await options.withClient { client in try write(client) }
        }
    }

    func write(_ client: APIClient) throws {
        guard let token = client.config.token else { throw BerthError(.badRequest, "the kubeconfig has no token: the registry takes a token as password") }
        let host = try RegistryCommand.host(client)
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        let auth = Data("berth:\(token)".utf8).base64EncodedString()
        for path in [dockerConfig ?? home + "/.docker/config.json", authFile ?? home + "/.config/containers/auth.json"] {
            try Self.merge(auth: auth, host: host, into: path)
            print("credentials for \(host) written to \(path)")
        }
        if let ca = client.config.certificateAuthority {
            for directory in certificatesDirectories.split(separator: ",").map(String.init) where !directory.isEmpty {
                let target = "\(directory)/\(host)"
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: target + "/ca.crt", contents: Data(ca.utf8), attributes: [.posixPermissions: 0o644])
                print("cluster CA trusted for \(host) in \(target)/ca.crt")
            }
        }
    }

    /// Adds `auths[host]` to a JSON config, keeping everything else in it.
    static func merge(auth: String, host: String, into path: String) throws {
        var document: JSONValue = [:]
        if let bytes = FileManager.default.contents(atPath: path), !bytes.isEmpty {
            guard let parsed = try? JSONParser.parse(Array(bytes)), case .object = parsed else { throw BerthError(.badRequest, "\(path) is not a JSON object; not changing it") }
            document = parsed
        }
        var auths = document["auths"]?.objectValue ?? [:]
        auths[host] = ["auth": .string(auth)]
        document["auths"] = .object(auths)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(JSONWriter.bytes(document)), attributes: [.posixPermissions: 0o600]) else {
            throw BerthError(.internalError, "cannot write \(path)")
        }
    }
}

struct RegistryListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the repositories you may pull.")
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await reportingErrors {
            try await options.withClient { client in
                let body = try RegistryCommand.checked(try await client.request(.GET, "/v2/_catalog"))
                for name in body["repositories"]?.arrayValue ?? [] { print(name.stringValue ?? "") }
            }
        }
    }
}

struct RegistryTagsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tags", abstract: "List a repository's tags.")
    @OptionGroup var options: ClientOptions
    @Argument(help: "NAMESPACE/NAME") var repository: String

    func run() async throws {
        try await reportingErrors {
            try await options.withClient { client in
                let body = try RegistryCommand.checked(try await client.request(.GET, "/v2/\(repository)/tags/list"))
                for tag in body["tags"]?.arrayValue ?? [] { print(tag.stringValue ?? "") }
            }
        }
    }
}

struct RegistryRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a tag (REPO:TAG) or a manifest with its tags (REPO@DIGEST).")
    @OptionGroup var options: ClientOptions
    @Argument(help: "NAMESPACE/NAME:TAG or NAMESPACE/NAME@sha256:…") var reference: String

    func run() async throws {
        try await reportingErrors {
            let (repository, target): (Substring, Substring)
            if let at = reference.firstIndex(of: "@") {
                (repository, target) = (reference[..<at], reference[reference.index(after: at)...])
            } else if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
                (repository, target) = (reference[..<colon], reference[reference.index(after: colon)...])
            } else {
                throw ValidationError("name a tag (REPO:TAG) or a digest (REPO@sha256:…)")
            }
            try await options.withClient { client in
                _ = try RegistryCommand.checked(try await client.request(.DELETE, "/v2/\(repository)/manifests/\(target)"))
                print("deleted \(reference)")
            }
        }
    }
}

struct RegistryGCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Collect the registry's garbage now (pushes and pulls go on).")
    @OptionGroup var options: ClientOptions
    @Flag(help: "Report what would be removed; remove nothing.") var dryRun = false
    @Option(help: "Keep blobs and links younger than this many seconds (default: the server's, an hour).") var graceSeconds: Int?

    func run() async throws {
        try await reportingErrors {
            try await options.withClient { client in
                var path = RegistryPaths.garbageCollection + "?dryRun=\(dryRun)"
                if let graceSeconds { path += "&graceSeconds=\(graceSeconds)" }
                let report = try JSONParser.parse(try await client.request(.POST, path).checked().body)
                let verb = dryRun ? "would remove" : "removed"
                print("\(verb) \(report["blobsRemoved"]?.intValue ?? 0) blobs (\(report["bytesFreed"]?.intValue ?? 0) bytes), "
                      + "\(report["linksRemoved"]?.intValue ?? 0) blob links, \(report["uploadsRemoved"]?.intValue ?? 0) abandoned uploads; "
                      + "kept \(report["blobsKept"]?.intValue ?? 0) blobs of \(report["manifests"]?.intValue ?? 0) manifests")
            }
        }
    }
}
