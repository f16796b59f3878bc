import BerthCore
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging

/// `pods/{name}/portforward` (`kubectl port-forward`), the WebSocket tunnel kubectl 1.30+
/// tries first; see `PortForwardSession`.
extension APIServer {
    func shouldUpgradePortForward(_ request: HTTPRequest, path: String, namespace: String, name: String,
                                  logger: Logger) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let offered = (request.headerFields[.secWebSocketProtocol] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains(PortForwardSession.subprotocol) else { return .dontUpgrade }
        do throws(BerthError) {
            try authenticate(path: path, headers: request.headerFields)
        } catch {
            return .dontUpgrade
        }
        // A pod that is missing or has no address yet is reported per connection, on the error
        // stream kubectl prints; before the upgrade there is no way to word it for kubectl.
        let pod = try? await storage.get(.pod, namespace: namespace, name: name)
        let session = PortForwardSession(podIP: pod?.value(at: ["status", "podIP"])?.stringValue, podName: pod == nil ? "\(name) (not found)" : name,
                                         logger: logger)
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
}
