import AsyncHTTPClient
import BerthAgent
import BerthAPIServer
import BerthClient
import BerthCore
import BerthMetrics
import Foundation
import NIOCore
import NIOSSL

/// Logs, exec, stats and probes of pods on any node: the in-process agent of `berth up` directly, a joined
/// host's agent over HTTPS on its endpoint (port 10250 at the node's InternalIP), presenting
/// the API server's client certificate and checking the agent's against the cluster CA.
struct ClusterNodeStreams: NodeStreamProvider {
    let local: LocalNodeStreams?
    let admin: APIClient
    let http: HTTPClient
    let tls: TLSConfiguration

    init(local: LocalNodeStreams?, admin: APIClient, caPEM: String, clientCertificatePEM: String, clientKeyPEM: String) throws {
        self.local = local
        self.admin = admin
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(clientCertificatePEM.utf8)).map { .certificate($0) }
        tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientKeyPEM.utf8), format: .pem))
        self.tls = tls
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(5))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func isLocal(_ node: String) -> Bool { local?.agent.configuration.nodeName == node }

    /// `https://ADDRESS:PORT` of a node's agent, from its Node object: the
    /// `berth.dev/agent-endpoint` annotation when the node names one (simulated nodes share their
    /// simulator's endpoint; HTTPS only, and TLS still demands a cluster-CA certificate for that
    /// address), else its InternalIP and kubelet port.
    func endpoint(_ node: String) async throws(BerthError) -> String {
        let object = try await admin.request(.GET, "/api/v1/nodes/\(node)").checked().json()
        if let named = object.value(at: ["metadata", "annotations", SimulatedNodes.endpointAnnotation])?.stringValue, named.hasPrefix("https://") {
            return named
        }
        guard let address = object.value(at: ["status", "addresses"])?.arrayValue?.first(where: { $0["type"] == "InternalIP" })?["address"]?.stringValue else {
            throw BerthError(.unavailable, "node \(node) reports no InternalIP")
        }
        let port = object.value(at: ["status", "daemonEndpoints", "kubeletEndpoint", "Port"])?.intValue ?? 10250
        return "https://\(address):\(port)"
    }

    func logs(node: String, namespace: String, pod: String, request: PodLogRequest) async throws(BerthError) -> AsyncStream<[UInt8]> {
        if let local, isLocal(node) { return try await local.logs(node: node, namespace: namespace, pod: pod, request: request) }
        var query: [String] = []
        if request.follow { query.append("follow=true") }
        if request.previous { query.append("previous=true") }
        if request.timestamps { query.append("timestamps=true") }
        if let lines = request.tailLines { query.append("tailLines=\(lines)") }
        if let seconds = request.sinceSeconds { query.append("sinceSeconds=\(seconds)") }
        if let since = request.sinceTime { query.append("sinceSeconds=\(max(0, Int(Date().timeIntervalSince(since))))") }
        if let limit = request.limitBytes { query.append("limitBytes=\(limit)") }
        var path = "/containerLogs/\(namespace)/\(pod)"
        if let container = request.container { path += "/\(container)" }
        return try await stream(try await endpoint(node) + path + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), node: node)
    }

    /// A streamed answer of a node's agent (logs, log searches), chunk by chunk until it ends;
    /// a refusal is thrown with the agent's message.
    private func stream(_ url: String, node: String) async throws(BerthError) -> AsyncStream<[UInt8]> {
        let response: HTTPClientResponse
        do {
            response = try await http.execute(HTTPClientRequest(url: url), deadline: .distantFuture)
        } catch {
            throw BerthError(.unavailable, "failed to reach the agent of node \(node): \(error)")
        }
        if response.status.code >= 300 {
            let body = (try? await response.body.collect(upTo: 1 << 16)).map { String(buffer: $0) } ?? ""
            let message = (try? JSONParser.parse(body))?["message"]?.stringValue ?? body
            throw BerthError(BerthError.Code(httpStatus: Int(response.status.code)), message)
        }
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        let task = Task {
            do {
                for try await chunk in response.body { continuation.yield(Array(chunk.readableBytesView)) }
            } catch {}
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func exec(node: String, namespace: String, pod: String, request: PodExecRequest) async throws(BerthError) -> any ExecProcess {
        if let local, isLocal(node) { return try await local.exec(node: node, namespace: namespace, pod: pod, request: request) }
        return try await RemoteExecProcess.start(endpoint: try await endpoint(node), node: node, namespace: namespace, pod: pod, request: request,
                                                 tls: tls, http: http)
    }

    func statsSummary(node: String) async throws(BerthError) -> JSONValue {
        if let local, isLocal(node) { return try await local.statsSummary(node: node) }
        do {
            let response = try await http.execute(HTTPClientRequest(url: try await endpoint(node) + "/stats/summary"), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 16 << 20)
            return try JSONParser.parse(Array(body.readableBytesView))
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.unavailable, "failed to reach the agent of node \(node): \(error)")
        }
    }

    func logSearch(node: String, query: String) async throws(BerthError) -> AsyncStream<[UInt8]> {
        if let local, isLocal(node) { return try await local.logSearch(node: node, query: query) }
        return try await stream(try await endpoint(node) + "/logsearch?" + query, node: node)
    }

    func ingressAccessLog(node: String, query: String) async throws(BerthError) -> AsyncStream<[UInt8]> {
        if let local, isLocal(node) { return try await local.ingressAccessLog(node: node, query: query) }
        return try await stream(try await endpoint(node) + "/ingress/accesslog?" + query, node: node)
    }

    func metrics(node: String, path: String, accept: String?) async throws(BerthError) -> (body: [UInt8], contentType: String) {
        if let local, isLocal(node) { return try await local.metrics(node: node, path: path, accept: accept) }
        do {
            var request = HTTPClientRequest(url: try await endpoint(node) + "/" + path)
            if let accept { request.headers.add(name: "Accept", value: accept) }
            let response = try await http.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 64 << 20)
            guard response.status.code < 300 else { throw BerthError(BerthError.Code(httpStatus: Int(response.status.code)), String(buffer: body)) }
            return (Array(body.readableBytesView), response.headers.first(name: "Content-Type") ?? ExpositionFormat.text.contentType)
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.unavailable, "failed to reach the agent of node \(node): \(error)")
        }
    }

    func probe(node: String, namespace: String, pod: String, address: String, port: Int) async throws(BerthError) -> JSONValue {
        if let local, isLocal(node) { return try await local.probe(node: node, namespace: namespace, pod: pod, address: address, port: port) }
        do {
            let url = try await endpoint(node) + "/probe/\(namespace)/\(pod)?address=\(address)&port=\(port)"
            let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(15))
            let body = try await response.body.collect(upTo: 1 << 20)
            return try JSONParser.parse(Array(body.readableBytesView))
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.unavailable, "failed to reach the agent of node \(node): \(error)")
        }
    }
}
