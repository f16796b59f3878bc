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

    /// `GET /berth/v1/namespaces/NS/pods/NAME/probe?address=A&port=P` (admin only): the pod's
    /// node connects from inside the pod and says whether and how fast it got through.
    func podProbe(_ request: Request, caller: Caller) async throws(BerthError) -> Response? {
        let segments = request.uri.path.split(separator: "/").map(String.init)
        guard segments.count == 7, segments[0] == "berth", segments[1] == "v1", segments[2] == "namespaces", segments[4] == "pods", segments[6] == "probe" else { return nil }
        guard caller == .admin else { throw BerthError(.forbidden, "only the admin may probe from inside pods") }
        let query = QueryParameters(request.uri.query)
        guard let address = query["address"], IPv4.isValid(address) else {
            throw BerthError.invalid(kind: "Probe", name: segments[5], causes: [.invalid("address", query["address"] ?? "", "must be an IPv4 address")])
        }
        guard let port = query["port"].flatMap(Int.init), (1...65535).contains(port) else {
            throw BerthError.invalid(kind: "Probe", name: segments[5], causes: [.invalid("port", query["port"] ?? "", "must be between 1 and 65535")])
        }
        let pod = try await storage.get(.pod, namespace: segments[3], name: segments[5])
        guard let node = pod.value(at: ["spec", "nodeName"])?.stringValue, !node.isEmpty else {
            throw BerthError(.conflict, "pod \(segments[5]) is not on a node yet")
        }
        guard let provider = nodeStreams.current else { throw BerthError(.unavailable, "no agent serves node \(node) from this server yet") }
        return Responses.json(try await provider.probe(node: node, namespace: segments[3], pod: segments[5], address: address, port: port))
    }
}
