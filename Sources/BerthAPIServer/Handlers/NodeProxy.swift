import BerthCore
import Hummingbird
import NIOCore

extension APIServer {
    /// `GET /api/v1/nodes/NAME/proxy/stats/summary`, the kubelet's resource summary, and the
    /// metrics paths, as `kubectl get --raw` reads them; `logs/ingress`, the node's ingress
    /// access log (`tailLines`, `sinceSeconds`, `timestamps`, `follow`, `limitBytes`). Other
    /// node proxy paths are not served.
    func nodeProxy(_ request: Request) async throws(BerthError) -> Response {
        guard let path = NodeProxyPath(path: request.uri.path), request.method == .get,
              path.rest == ["stats", "summary"] || path.rest == ["logs", "ingress"] || NodeProxyPath.metricsPaths.contains(path.rest.joined(separator: "/")) else {
            throw BerthError(.notFound, "the node proxy serves stats/summary, metrics, metrics/cadvisor, metrics/resource and logs/ingress")
        }
        _ = try await storage.get(.node, namespace: nil, name: path.node)
        guard let provider = nodeStreams.current else { throw BerthError(.unavailable, "no agent serves node \(path.node) from this server yet") }
        if path.rest == ["logs", "ingress"] { return try await ingressAccessLog(request, node: path.node, provider: provider) }
        if path.rest == ["stats", "summary"] { return Responses.json(try await provider.statsSummary(node: path.node)) }
        let (body, contentType) = try await provider.metrics(node: path.node, path: path.rest.joined(separator: "/"), accept: request.headers[.accept])
        return Response(status: .ok, headers: [.contentType: contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func ingressAccessLog(_ request: Request, node: String, provider: any NodeStreamProvider) async throws(BerthError) -> Response {
        let query = QueryParameters(request.uri.query)
        var forwarded: [String] = []
        for field in ["tailLines", "sinceSeconds", "limitBytes"] {
            guard let value = try query.integer(field) else { continue }
            if value < (field == "tailLines" ? 0 : 1) {
                throw BerthError.invalid(kind: "NodeLogOptions", name: node, causes: [.invalid(field, String(value), field == "tailLines" ? "must be greater than or equal to 0" : "must be greater than 0")])
            }
            forwarded.append("\(field)=\(value)")
        }
        for flag in ["follow", "timestamps"] where query.flag(flag) { forwarded.append("\(flag)=true") }
        let stream = try await provider.ingressAccessLog(node: node, query: forwarded.joined(separator: "&"))
        return Response(status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody { writer in
            for await chunk in stream { try await writer.write(ByteBuffer(bytes: chunk)) }
            try await writer.finish(nil)
        })
    }

    /// `GET /berth/v1/namespaces/NS/pods/NAME/probe?address=A&port=P` (a non-resource path only
    /// the admin is authorized for): the pod's node connects from inside the pod and says
    /// whether and how fast it got through.
    func podProbe(_ request: Request) async throws(BerthError) -> Response {
        guard let path = PodProbePath(path: request.uri.path) else { throw BerthError(.notFound, "the server could not find the requested resource") }
        let segments = ["berth", "v1", "namespaces", path.namespace, "pods", path.pod, "probe"]
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
