import AsyncHTTPClient
import BerthCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// A typed HTTP client for the Berth API, speaking the wire format kubectl speaks. Used by the
/// CLI now and by agents and controllers later.
public final class APIClient: Sendable {
    public let config: Kubeconfig
    public let registry: ResourceRegistry
    let http: HTTPClient
    /// The API server of this very process, when there is one: requests go to it directly
    /// (same handlers, same authentication) instead of through TLS and a loopback socket.
    let inProcess: (any InProcessAPI)?

    /// `maximumConnections` bounds the connection pool per server: each TLS connection costs
    /// memory on both ends, and an agent with hundreds of pods needs only a few. `idleTimeout`
    /// closes a pooled connection nobody used for that long: an agent's burst of status writes
    /// opens many, and each idle TLS connection keeps its buffers (~80 KB) until it closes.
    public init(config: Kubeconfig, registry: ResourceRegistry = .standard, maximumConnections: Int = 256,
                idleTimeout: TimeAmount = .seconds(60), inProcess: (any InProcessAPI)? = nil) throws(BerthError) {
        self.config = config
        self.registry = registry
        self.inProcess = inProcess
        var tls = TLSConfiguration.makeClientConfiguration()
        if config.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        } else if let ca = config.certificateAuthority {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
            } catch {
                throw BerthError(.badRequest, "failed to load the cluster CA from the kubeconfig: \(error)")
            }
        }
        if let certificate = config.clientCertificate, let key = config.clientKey {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem))
            } catch {
                throw BerthError(.badRequest, "failed to load the client certificate from the kubeconfig: \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10))
        // Watches hold a connection each; controllers and benchmarks run many at once.
        configuration.connectionPool = .init(idleTimeout: idleTimeout, concurrentHTTP1ConnectionsPerHostSoftLimit: maximumConnections)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async { try? await http.shutdown() }

    /// A client dropped without `shutdown()` (a caller that threw on its way) closes its
    /// connections itself: AsyncHTTPClient keeps itself alive until that is done.
    deinit { http.shutdown { _ in } }

    public struct Reply: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var warnings: [String]

        public func json() throws(BerthError) -> JSONValue { try JSONParser.parse(body) }

        /// Turns a non-2xx reply into the server's `Status` as a `BerthError`.
        public func checked() throws(BerthError) -> Reply {
            guard status >= 300 else { return self }
            let status = try? JSONCoding.decode(Status.self, from: Data(body))
            // 409 is both AlreadyExists and Conflict: the Status reason tells them apart.
            let code = status?.reason.flatMap(BerthError.Code.init(rawValue:)) ?? BerthError.Code(httpStatus: self.status)
            throw BerthError(code, status?.message ?? String(decoding: body, as: UTF8.self), causes: status?.details?.causes ?? [], details: status?.details)
        }
    }

    public func request(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json",
                        accept: String = "application/json", timeout: TimeAmount = .seconds(60)) async throws(BerthError) -> Reply {
        if let inProcess {
            let response = await sendInProcess(inProcess, method: method.rawValue, path: path, body: body, contentType: contentType, accept: accept)
            do {
                return Reply(status: response.status, body: try await response.body.collect(upTo: 1 << 30), warnings: response.warnings)
            } catch {
                throw BerthError(.unavailable, "the in-process API server failed: \(error)")
            }
        }
        var request = HTTPClientRequest(url: config.server + path)
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: "berth/\(BerthVersion.current)")
        if let token = config.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await http.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: 1 << 30)
            return Reply(status: Int(response.status.code), body: Array(buffer.readableBytesView), warnings: response.headers["Warning"])
        } catch {
            throw BerthError(.unavailable, "failed to reach \(config.server): \(error)")
        }
    }

    /// Streams a watch: one decoded `{"type","object"}` event per element, read and parsed as
    /// the consumer asks for it.
    public func watch(_ path: String, accept: String = "application/json") async throws(BerthError) -> WatchEvents {
        WatchEvents(lines: try await watchLines(path, accept: accept))
    }

    /// Streams a watch as raw event lines, for consumers that do not need every event parsed.
    public func watchLines(_ path: String, accept: String = "application/json") async throws(BerthError) -> WatchLines {
        if let inProcess {
            let response = await sendInProcess(inProcess, method: "GET", path: path, body: nil, contentType: nil, accept: accept)
            if response.status >= 300 {
                let body = (try? await response.body.collect(upTo: 1 << 20)) ?? []
                _ = try Reply(status: response.status, body: body, warnings: []).checked()
            }
            return WatchLines(source: .inProcess(response.body))
        }
        var request = HTTPClientRequest(url: config.server + path)
        request.headers.add(name: "Accept", value: accept)
        if let token = config.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: .distantFuture)
        } catch {
            throw BerthError(.unavailable, "failed to reach \(config.server): \(error)")
        }
        if response.status.code >= 300 {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            _ = try Reply(status: Int(response.status.code), body: body, warnings: []).checked()
        }
        return WatchLines(source: .http(response.body))
    }

    /// The collection path of a kind, e.g. `/apis/apps/v1/namespaces/default/deployments`.
    public func path(_ descriptor: ResourceDescriptor, namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = descriptor.group.isEmpty ? "/api/\(descriptor.version)" : "/apis/\(descriptor.group)/\(descriptor.version)"
        if descriptor.namespaced, let namespace { path += "/namespaces/\(namespace)" }
        path += "/\(descriptor.plural)"
        if let name { path += "/\(name)" }
        if let subresource { path += "/\(subresource)" }
        return path
    }
}

public enum BerthVersion {
    public static let current = "0.1.0"
}
