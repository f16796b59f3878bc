import AsyncHTTPClient
import BerthCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// The cluster's own registry (`/v2/` on the API address): reached over TLS with the cluster CA,
/// and, on `berth up`, its blob files taken by hard link instead of a download.
public struct ClusterRegistry: Sendable {
    /// `HOST:PORT` as image references name it (the API address).
    public var host: String
    public var caPEM: String
    /// The registry's storage directory when it is on this host's filesystem (`berth up`).
    public var localBlobs: String?

    public init(host: String, caPEM: String, localBlobs: String? = nil) {
        self.host = host
        self.caPEM = caPEM
        self.localBlobs = localBlobs
    }
}

/// Pulls images over the OCI Distribution API: manifest (or index → this platform's manifest),
/// config and layers, each verified against its digest as it streams into the content store.
/// Anonymous, Basic and bearer-token (Docker token spec) authentication.
public final class RegistryClient: ImagePulling, Sendable {
    let store: ImageStore
    let http: HTTPClient
    let logger: Logger
    /// Registries spoken to over plain HTTP (loopback ones always are, as Docker does).
    let insecureRegistries: Set<String>
    let layerConcurrency: Int
    public let cluster: ClusterRegistry?
    /// Speaks to the cluster registry, trusting the cluster CA.
    let clusterHTTP: HTTPClient?

    public init(store: ImageStore, insecureRegistries: Set<String> = [], layerConcurrency: Int = 3, cluster: ClusterRegistry? = nil,
                logger: Logger = Logger(label: "berth.images")) {
        self.store = store
        self.cluster = cluster
        self.insecureRegistries = insecureRegistries
        self.layerConcurrency = layerConcurrency
        self.logger = logger
        var configuration = HTTPClient.Configuration(redirectConfiguration: .follow(max: 5, allowCycles: false))
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(60))
        // A refused or unresolvable registry fails at once: the agent retries pulls with its
        // own back-off (ImagePullBackOff), and `berth image pull` should not sit 10 s on a
        // closed port.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        if let cluster, let roots = try? NIOSSLCertificate.fromPEMBytes(Array(cluster.caPEM.utf8)) {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(roots)
            var clusterConfiguration = configuration
            clusterConfiguration.tlsConfiguration = tls
            clusterHTTP = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clusterConfiguration)
        } else {
            clusterHTTP = nil
        }
    }

    public func shutdown() async {
        try? await http.shutdown()
        try? await clusterHTTP?.shutdown()
    }

    /// The HTTP client for a registry: the cluster's own trusts the cluster CA.
    func http(for registry: String) -> HTTPClient {
        if let clusterHTTP, registry == cluster?.host { return clusterHTTP }
        return http
    }

    static let manifestAccept = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList].joined(separator: ", ")

    /// Every failure names the image: `failed to pull image "docker.io/library/web:1": …`.
    public func pull(_ reference: ImageReference, credentials: [RegistryCredential]) async throws(BerthError) -> LocalImage {
        do {
            return try await fetch(reference, credentials: credentials)
        } catch {
            var named = error
            named.message = "failed to pull image \"\(reference)\": \(error.message)"
            throw named
        }
    }

    private func fetch(_ reference: ImageReference, credentials: [RegistryCredential]) async throws(BerthError) -> LocalImage {
        let session = RegistrySession(client: self, reference: reference,
                                      authenticator: RegistryAuthenticator(credential: credentials.first { Self.host(matches: $0.registry, reference.registry) }))
        var (mediaType, bytes) = try await session.manifest(reference.reference)
        var manifestDigest = Digest.sha256(of: bytes)
        if let pinned = reference.digest, pinned != manifestDigest {
            throw BerthError(.badRequest, "manifest digest mismatch: asked for \(pinned), registry sent \(manifestDigest)")
        }
        if MediaType.isIndex(mediaType) {
            _ = try store.content.write(bytes, expected: manifestDigest)
            let index = try JSONCoding.decode(ImageIndex.self, from: Data(bytes))
            guard let chosen = index.manifest(for: .host) else {
                throw BerthError(.notFound, "image \(reference) has no \(Platform.host.os)/\(Platform.host.architecture) variant")
            }
            (mediaType, bytes) = try await session.manifest(chosen.digest.description)
            manifestDigest = Digest.sha256(of: bytes)
            guard manifestDigest == chosen.digest else {
                throw BerthError(.badRequest, "manifest digest mismatch: index names \(chosen.digest), registry sent \(manifestDigest)")
            }
        }
        let manifest = try JSONCoding.decode(ImageManifest.self, from: Data(bytes))
        try await session.blob(manifest.config)
        let layers = manifest.layers
        let concurrency = layerConcurrency
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                var pending = layers.makeIterator()
                for _ in 0..<concurrency {
                    if let layer = pending.next() { group.addTask { try await session.blob(layer) } }
                }
                while try await group.next() != nil {
                    if let layer = pending.next() { group.addTask { try await session.blob(layer) } }
                }
            }
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.unavailable, "failed to pull \(reference): \(error)")
        }
        _ = try store.content.write(bytes, expected: manifestDigest)
        var tagged = reference
        tagged.digest = nil
        if tagged.tag == nil { tagged.tag = "latest" }
        let image = reference.tag == nil && reference.digest != nil
            ? try store.tag(reference, manifest: manifestDigest)
            : try store.tag(tagged, manifest: manifestDigest)
        logger.info("image pulled", metadata: ["image": "\(reference)", "digest": "\(manifestDigest)", "layers": "\(layers.count)"])
        return image
    }

    func baseURL(for registry: String) -> String {
        let host = registry == ImageReference.defaultRegistry ? "registry-1.docker.io" : registry
        let name = host.split(separator: ":").first.map(String.init) ?? host
        if registry == cluster?.host { return "https://\(host)" }
        let plain = insecureRegistries.contains(registry) || name == "localhost" || name.hasPrefix("127.") || name == "[::1]"
        return "\(plain ? "http" : "https")://\(host)"
    }

    static func host(matches credentialHost: String, _ registry: String) -> Bool {
        credentialHost == registry || (registry == ImageReference.defaultRegistry && credentialHost.contains("docker.io"))
    }
}

