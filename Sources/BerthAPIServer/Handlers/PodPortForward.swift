import BerthCore
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore

/// `pods/{name}/portforward` (`kubectl port-forward`), the WebSocket tunnel kubectl 1.30+
/// tries first; see `PortForwardSession`.
extension APIServer {
    func shouldUpgradePortForward(_ request: HTTPRequest, path: String, namespace: String, name: String, channel: (any Channel)?,
                                  logger: Logger) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let offered = (request.headerFields[.secWebSocketProtocol] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains(PortForwardSession.subprotocol) else { return .dontUpgrade }
        guard await authorizeUpgrade(request, path: path, namespace: namespace, name: name, subresource: "portforward", channel: channel) else {
            return .dontUpgrade
        }
        let session = await portForwardSession(namespace: namespace, name: name)
        var headers = HTTPFields()
        headers[.secWebSocketProtocol] = PortForwardSession.subprotocol
        return .upgrade(headers) { inbound, outbound, _ in
            do {
                try await session.run(inbound: inbound, outbound: outbound)
            } catch {
                logger.warning("port-forward session failed", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
                throw error
            }
        }
    }

    /// A pod that is missing or has no address yet is reported per connection, on the error
    /// stream kubectl prints; before the upgrade there is no way to word it for kubectl.
    func portForwardSession(namespace: String, name: String) async -> PortForwardSession {
        let pod = try? await storage.get(.pod, namespace: namespace, name: name)
        let node = pod?.value(at: ["spec", "nodeName"])?.stringValue ?? ""
        let streams = nodeStreams
        return PortForwardSession(connect: { port throws(BerthError) in
            guard pod != nil else { throw BerthError(.notFound, "pod \(name) not found") }
            guard !node.isEmpty else { throw BerthError(.badRequest, "pod \(name) does not have a host assigned") }
            guard let provider = streams.current else { throw BerthError(.unavailable, "no agent serves node \(node) from this server yet") }
            var request = PodExecRequest()
            request.port = port
            return try await provider.exec(node: node, namespace: namespace, pod: name, request: request)
        }, podName: pod == nil ? "\(name) (not found)" : name, logger: logger)
    }
}
