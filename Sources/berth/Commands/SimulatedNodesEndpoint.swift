import BerthAgent
import BerthAPIServer
import BerthClient
import BerthCore
import BerthMetrics
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle

/// The agent endpoint of `berth agent --simulate`'s nodes, one listener for all of them:
/// `/nodes/NAME/stats/summary` and `/nodes/NAME/metrics[/cadvisor|/resource]`, over mutual TLS
/// with the pool's certificate, answering only the API server (as a real agent's endpoint).
/// It listens on a free port of `--node-address`; each node's `berth.dev/agent-endpoint`
/// annotation tells the API server where, so `kubectl top`, the history and Prometheus through
/// the node proxy reach simulated nodes as they reach real ones. Logs and exec are not
/// simulated: those paths answer 404 with the reason.
struct SimulatedNodesEndpoint {
    let nodes: SimulatedNodes
    let config: Kubeconfig
    let address: String
    let logger: Logger

    func service() throws -> any ServiceLifecycle.Service {
        let tls = try AgentStreamServer.serverTLS(config, serving: "the simulated nodes' endpoint")
        nodes.endpoint.expect()
        let endpoint = nodes.endpoint
        let host = address
        return Application(
            responder: SimulatedNodesResponder(nodes: nodes, logger: logger),
            server: try .boundedTLSWebSocket(tlsConfiguration: tls) { _, _, _ in .dontUpgrade },
            configuration: ApplicationConfiguration(address: .hostname(address, port: 0), serverName: nil),
            onServerRunning: { channel in
                guard let port = channel.localAddress?.port else { return }
                endpoint.set("https://\(host):\(port)")
            },
            logger: logger)
    }
}

struct SimulatedNodesResponder: HTTPResponder {
    typealias Context = APIRequestContext
    let nodes: SimulatedNodes
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        do throws(BerthError) {
            try await AgentStreamResponder.requireAPIServer(context, logger: logger)
            let parts = request.uri.path.split(separator: "/").map(String.init)
            guard parts.count >= 3, parts[0] == "nodes" else { throw BerthError(.notFound, "the simulated nodes serve /nodes/NAME/…") }
            let node = parts[1], path = parts[2...].joined(separator: "/")
            if path == "stats/summary", let summary = nodes.statsSummary(node: node) {
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.bytes(summary))))
            }
            let format = ExpositionFormat.negotiate(accept: request.headers[.accept])
            if let body = nodes.metrics(node: node, path: path, format: format) {
                return Response(status: .ok, headers: [.contentType: format.contentType], body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
            throw BerthError(.notFound, "simulated node \(node) serves only /stats/summary, /metrics, /metrics/cadvisor and /metrics/resource (no containers: no logs, exec or probes)")
        } catch {
            return AgentStreamResponder.statusResponse(error)
        }
    }
}
