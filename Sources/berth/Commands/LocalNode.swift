import BerthAPIServer
import BerthAgent
import BerthClient
import BerthCore
import BerthMetrics
import BerthRuntime
import Foundation

/// Connects the API server of `berth up` to its in-process agent: logs (and exec) of pods on
/// this node are served straight from the agent.
struct LocalNodeStreams: NodeStreamProvider {
    let agent: AgentService

    func logs(node: String, namespace: String, pod: String, request: PodLogRequest) async throws(BerthError) -> AsyncStream<[UInt8]> {
        guard node == agent.configuration.nodeName else {
            throw BerthError(.unavailable, "node \(node) is not reachable from this server (remote agents come with cluster support)")
        }
        var since = request.sinceTime
        if let seconds = request.sinceSeconds { since = Date().addingTimeInterval(-Double(seconds)) }
        let options = LogOptions(follow: request.follow, tailLines: request.tailLines, since: since, timestamps: request.timestamps, limitBytes: request.limitBytes)
        return try await agent.logs(namespace: namespace, pod: pod, container: request.container, previous: request.previous, options: options)
    }
}

extension LocalNodeStreams {
    func exec(node: String, namespace: String, pod: String, request: PodExecRequest) async throws(BerthError) -> any ExecProcess {
        guard node == agent.configuration.nodeName else {
            throw BerthError(.unavailable, "node \(node) is not reachable from this server (remote agents come with cluster support)")
        }
        if let port = request.port {
            return try await agent.connect(namespace: namespace, pod: pod, port: port)
        }
        if request.attach {
            return try await agent.attach(namespace: namespace, pod: pod, container: request.container, stdin: request.stdin)
        }
        let id = try await agent.containerID(namespace: namespace, pod: pod, container: request.container)
        return try ExecSession(runtime: agent.runtime, containerID: id, command: request.command, tty: request.tty, stdin: request.stdin)
    }
}

extension ExecSession: ExecProcess {}
extension AttachSession: ExecProcess {}
extension PodPortConnection: ExecProcess {}

extension LocalNodeStreams {
    func statsSummary(node: String) async throws(BerthError) -> JSONValue {
        guard node == agent.configuration.nodeName else {
            throw BerthError(.unavailable, "node \(node) is not reachable from this server (remote agents come with cluster support)")
        }
        return await agent.statsSummary()
    }

    func logSearch(node: String, query: String) async throws(BerthError) -> AsyncStream<[UInt8]> {
        guard node == agent.configuration.nodeName else { throw BerthError(.unavailable, "node \(node) is not reachable from this server") }
        return await agent.logSearch(try LogQuery(queryString: query))
    }

    func metrics(node: String, path: String, accept: String?) async throws(BerthError) -> (body: [UInt8], contentType: String) {
        guard node == agent.configuration.nodeName else { throw BerthError(.unavailable, "node \(node) is not reachable from this server") }
        let format = ExpositionFormat.negotiate(accept: accept)
        guard let body = await agent.metrics(path: path, format: format) else { throw BerthError(.notFound, "the agent serves no \(path)") }
        return (body, format.contentType)
    }

    func ingressAccessLog(node: String, query: String) async throws(BerthError) -> AsyncStream<[UInt8]> {
        guard node == agent.configuration.nodeName else { throw BerthError(.unavailable, "node \(node) is not reachable from this server") }
        let items = URLComponents(string: "?" + query)?.queryItems ?? []
        let values = Dictionary(items.compactMap { item in item.value.map { (item.name, $0) } }, uniquingKeysWith: { $1 })
        return try await agent.ingressAccessLog(options: AgentStreamResponder.logOptions(values))
    }

    func probe(node: String, namespace: String, pod: String, address: String, port: Int) async throws(BerthError) -> JSONValue {
        guard node == agent.configuration.nodeName else {
            throw BerthError(.unavailable, "node \(node) is not reachable from this server")
        }
        return try await agent.probe(namespace: namespace, pod: pod, address: address, port: port)
    }
}
