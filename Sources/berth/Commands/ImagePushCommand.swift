import ArgumentParser
import BerthClient
import BerthCore
import BerthImages
import Foundation

extension ImageCommand {
    /// `berth image push LOCAL [TARGET]`: an image of this node's store to a registry — the
    /// cluster's own (`HOST:PORT/NAMESPACE/NAME:TAG`, the API address) with the kubeconfig's
    /// token and CA, or any other. Blobs the registry has are not sent again.
    struct Push: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "push", abstract: "Push an image of this node's store to a registry (the built-in one by default credentials).")
        @OptionGroup var options: StoreOptions
        @Argument(help: "An image in this node's store.") var image: String
        @Argument(help: "Where to push it (default: the image's own name), e.g. 127.0.0.1:6443/team-a/app:v1.") var target: String?
        @Option(help: "Path to the kubeconfig whose server is the cluster registry (default: $KUBECONFIG, DATA-DIR/admin.kubeconfig).")
        var kubeconfig: String?
        @Option(help: "Registry user name for another registry (password from BERTH_REGISTRY_PASSWORD).") var username: String?
        @Flag(help: "Skip TLS verification (another registry with a certificate you cannot verify).") var insecureSkipTLSVerify = false

        func run() async throws {
            try await reportingErrors(local: true) {
                let store = try options.store()
                guard let local = try store.image(try ImageReference(parsing: image)) else {
                    throw BerthError(.notFound, "image \(image) is not in this node's store")
                }
                let destination = try ImageReference(parsing: target ?? image)
                let remote = try remoteFor(destination)
                defer { Task { await remote.shutdown() } }
                var sent: Int64 = 0
                for blob in [local.manifest.config] + local.manifest.layers where try await !remote.hasBlob(destination.repository, blob.digest) {
                    try await remote.uploadBlob(destination.repository, blob.digest, file: store.content.path(for: blob.digest), size: blob.size)
                    sent += blob.size
                }
                let bytes = try store.content.read(local.manifestDigest)
                let mediaType = (try? JSONParser.parse(bytes))?["mediaType"]?.stringValue ?? MediaType.ociManifest
                try await remote.putManifest(destination.repository, destination.tag ?? destination.digest?.description ?? "latest", mediaType: mediaType, bytes: bytes)
                print("pushed \(destination) \(local.manifestDigest) (\(sent) bytes of blobs sent)")
            }
        }

        /// The cluster registry (the kubeconfig's server) with its token and CA; another
        /// registry with --username, over HTTPS (loopback: HTTP).
        func remoteFor(_ destination: ImageReference) throws -> RemoteRegistry {
            let path = kubeconfig ?? ProcessInfo.processInfo.environment["KUBECONFIG"] ?? options.dataDir + "/admin.kubeconfig"
            if let config = try? Kubeconfig.load(path: path), let url = URL(string: config.server), let host = url.host,
               "\(host):\(url.port ?? 443)" == destination.registry {
                let credential = config.token.map { RegistryCredential(registry: destination.registry, username: "berth", password: $0) }
                return try RemoteRegistry(url: config.server, credential: credential, caPEM: config.certificateAuthority)
            }
            let name = destination.registry.split(separator: ":").first.map(String.init) ?? ""
            let plain = name == "localhost" || name.hasPrefix("127.")
            let credential = username.map {
                RegistryCredential(registry: destination.registry, username: $0, password: ProcessInfo.processInfo.environment["BERTH_REGISTRY_PASSWORD"] ?? "")
            }
            return try RemoteRegistry(url: "\(plain ? "http" : "https")://\(destination.registry)", credential: credential,
                                      insecureSkipTLSVerify: insecureSkipTLSVerify)
        }
    }
}
