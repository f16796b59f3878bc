import BerthCore
import Hummingbird

extension APIServer {
    /// `GET /api/v1/nodes/NAME/proxy/stats/summary`, the kubelet's resource summary, as
    /// `kubectl get --raw` reads it. Other node proxy paths are not served.
    func nodeProxy(_ request: Request) async throws(BerthError) -> Response? {
        let segments = request.uri.path.split(separator: "/").map(String.init)
        guard segments.count >= 5, segments[0] == "api", segments[1] == "v1", segments[2] == "nodes", segments[4] == "proxy" else { return nil }
        guard request.method == .get, segments.count == 7, segments[5] == "stats", segments[6] == "summary" else {
            throw BerthError(.notFound, "the node proxy serves only stats/summary")
        }
        _ = try await storage.get(.node, namespace: nil, name: segments[3])
        guard let provider = nodeStreams.current else { throw BerthError(.unavailable, "no agent serves node \(segments[3]) from this server yet") }
        return Responses.json(try await provider.statsSummary(node: segments[3]))
    }
}
