import BerthAPIServer
import BerthAgent
import BerthClient
import BerthCore
import BerthMetrics
import BerthRuntime
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import X509

/// The agent's own HTTPS endpoint (like the kubelet's port 10250), through which the API server
/// reads container logs and stats of pods on a joined host, probes from inside its pods, and
/// runs exec sessions (`/exec/NAMESPACE/POD?command=…`, a WebSocket with the v5 channel
/// protocol). It serves with the node's certificate and answers only a client presenting the
/// API server's certificate from the cluster CA.
struct AgentStreamServer {
    static let port = 10250

    let agent: AgentService
    let config: Kubeconfig
    let address: String
    let logger: Logger

    func service() throws -> any ServiceLifecycle.Service {
        let tls = try Self.serverTLS(config, serving: "the agent's endpoint")
        let responder = AgentStreamResponder(agent: agent, logger: logger)
        return Application(
            responder: responder,
            server: try .boundedTLSWebSocket(tlsConfiguration: tls, webSocket: .init(maxFrameSize: 1 << 20)) { request, channel, _ in
                await responder.shouldUpgrade(request, channel: channel)
            },
            configuration: ApplicationConfiguration(address: .hostname(address, port: Self.port), serverName: nil),
            logger: logger)
    }
}

extension AgentStreamServer {
    /// Serves with the node's (or node pool's) certificate from joining and demands a client
    /// certificate from the cluster CA.
    static func serverTLS(_ config: Kubeconfig, serving: String) throws -> TLSConfiguration {
        guard let certificate = config.clientCertificate, let key = config.clientKey, let ca = config.certificateAuthority else {
            throw BerthError(.badRequest, "\(serving) needs the node certificate from joining")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(certificate.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(key.utf8), format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca.utf8)))
        tls.applicationProtocols = ["http/1.1"]
        return tls
    }
}

struct AgentStreamResponder: HTTPResponder {
    typealias Context = APIRequestContext
    let agent: AgentService
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        do throws(BerthError) {
            try await Self.requireAPIServer(context, logger: logger)
            let parts = request.uri.path.split(separator: "/").map(String.init)
            if parts == ["stats", "summary"] { return try json(await agent.statsSummary()) }
            if parts == ["logsearch"] {
                let stream = await agent.logSearch(try LogQuery(queryString: request.uri.query ?? ""))
                return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
                    for await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
            }
            let format = ExpositionFormat.negotiate(accept: request.headers[.accept])
            if parts.first == "metrics", let body = await agent.metrics(path: parts.joined(separator: "/"), format: format) {
                return Response(status: .ok, headers: [.contentType: format.contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
            let query = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { $1 })
            if parts == ["ingress", "accesslog"] {
                let stream = try await agent.ingressAccessLog(options: Self.logOptions(query))
                return Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody { writer in
                    for await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                    try await writer.finish(nil)
                })
            }
            if parts.count == 3, parts[0] == "probe" {
                guard let address = query["address"], IPv4.isValid(address), let port = query["port"].flatMap(Int.init), (1...65535).contains(port) else {
                    throw BerthError(.badRequest, "probe needs address=IPv4 and port=1-65535")
                }
                return try json(try await agent.probe(namespace: parts[1], pod: parts[2], address: address, port: port))
            }
            if parts.count == 3, ["exec", "attach", "portforward"].contains(parts[0]) {
                // Reached without an upgrade, or when the upgrade was refused: say why.
                if parts[0] == "portforward" {
                    guard let port = query["port"].flatMap(Int.init), (1...65535).contains(port) else {
                        throw BerthError(.badRequest, "portforward needs port=1-65535")
                    }
                    try await agent.connect(namespace: parts[1], pod: parts[2], port: port).terminate()
                } else if parts[0] == "attach" {
                    let session = try await agent.attach(namespace: parts[1], pod: parts[2], container: query["container"], stdin: query["stdin"] == "true")
                    session.terminate()
                } else {
                    _ = try await agent.containerID(namespace: parts[1], pod: parts[2], container: query["container"])
                }
                throw BerthError(.badRequest, "\(parts[0]) needs a WebSocket upgrade with the v5.channel.k8s.io protocol")
            }
            guard parts.count == 3 || parts.count == 4, parts[0] == "containerLogs" else {
                throw BerthError(.notFound, "the agent serves /containerLogs/NAMESPACE/POD[/CONTAINER], /exec/NAMESPACE/POD, /attach/NAMESPACE/POD, /portforward/NAMESPACE/POD?port=N, /probe/NAMESPACE/POD, /ingress/accesslog and /stats/summary")
            }
            let stream = try await agent.logs(namespace: parts[1], pod: parts[2], container: parts.count == 4 ? parts[3] : nil,
                                              previous: query["previous"] == "true", options: Self.logOptions(query))
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody { writer in
                for await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
                try await writer.finish(nil)
            })
        } catch {
            return Self.statusResponse(error)
        }
    }

    /// The options of `containerLogs` and `ingress/accesslog` from the query.
    static func logOptions(_ query: [String: String]) -> LogOptions {
        var since: Date?
        if let seconds = query["sinceSeconds"].flatMap(Int.init) { since = Date().addingTimeInterval(-Double(seconds)) }
        return LogOptions(follow: query["follow"] == "true", tailLines: query["tailLines"].flatMap(Int.init), since: since,
                          timestamps: query["timestamps"] == "true", limitBytes: query["limitBytes"].flatMap(Int.init))
    }

    static func statusResponse(_ error: BerthError) -> Response {
        let body = JSONWriter.bytes(["kind": "Status", "apiVersion": "v1", "status": "Failure", "message": .string(error.message),
                                     "code": .number(String(error.code.httpStatus))])
        return Response(status: .init(code: error.code.httpStatus), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// Upgrades `/exec/NAMESPACE/POD` and `/attach/NAMESPACE/POD` from the API server once the process runs in the
    /// container; anything else (and every failure) goes on to `respond`, which answers with
    /// the reason.
    func shouldUpgrade(_ request: HTTPRequest, channel: any Channel) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard let components = URLComponents(string: request.path ?? "") else { return .dontUpgrade }
        let parts = components.path.split(separator: "/").map(String.init)
        guard parts.count == 3, ["exec", "attach", "portforward"].contains(parts[0]), await Self.isAPIServer(channel) else { return .dontUpgrade }
        let offered = (request.headerFields[.secWebSocketProtocol] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let chosen = APIServer.execProtocols.first(where: offered.contains) else { return .dontUpgrade }
        let items = components.queryItems ?? []
        func flag(_ name: String, default value: Bool) -> Bool { items.first { $0.name == name }?.value.map { $0 == "true" || $0 == "1" } ?? value }
        var execRequest = PodExecRequest()
        execRequest.command = items.filter { $0.name == "command" }.compactMap(\.value)
        execRequest.container = items.first { $0.name == "container" }?.value
        execRequest.stdin = flag("stdin", default: false)
        execRequest.stdout = flag("stdout", default: true)
        execRequest.stderr = flag("stderr", default: true)
        execRequest.tty = flag("tty", default: false)
        execRequest.attach = parts[0] == "attach"
        if parts[0] == "portforward" {
            guard let port = items.first(where: { $0.name == "port" })?.value.flatMap(Int.init), (1...65535).contains(port) else { return .dontUpgrade }
            execRequest.port = port
        }
        guard !execRequest.command.isEmpty || execRequest.attach || execRequest.port != nil else { return .dontUpgrade }
        let started = execRequest
        let process: any ExecProcess
        do throws(BerthError) {
            process = try await LocalNodeStreams(agent: agent).exec(node: agent.configuration.nodeName, namespace: parts[1], pod: parts[2], request: execRequest)
        } catch {
            return .dontUpgrade
        }
        logger.debug("exec started", metadata: ["pod": "\(parts[1])/\(parts[2])", "command": "\(started.command)"])
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = chosen
        return .upgrade(headers) { inbound, outbound, _ in
            try await APIServer.relay(process, request: started, inbound: inbound, outbound: outbound)
        }
    }

    /// TLS already required a certificate from the cluster CA; it must also be the API server's.
    static func requireAPIServer(_ context: Context, logger: Logger) async throws(BerthError) {
        guard let channel = context.channel, await Self.isAPIServer(channel) else {
            logger.notice("refused a caller that is not the API server")
            throw BerthError(.forbidden, "only the API server may read logs and stats from this agent")
        }
    }

    static func isAPIServer(_ channel: any Channel) async -> Bool {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get(), let der = try? certificate.toDERBytes(),
              let parsed = try? Certificate(derEncoded: der) else { return false }
        return NodeCertificateIssuer.identity(of: parsed.subject).commonName == NodeCertificateIssuer.apiServerName
    }

    func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(value))))
    }
}
