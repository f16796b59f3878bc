import BerthCore
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// What the API server asks of the node agents: container logs (and, later, exec streams).
/// `berth up` plugs its in-process agent in; remote agents come with the cluster issue.
public protocol NodeStreamProvider: Sendable {
    func logs(node: String, namespace: String, pod: String, request: PodLogRequest) async throws(BerthError) -> AsyncStream<[UInt8]>
    func exec(node: String, namespace: String, pod: String, request: PodExecRequest) async throws(BerthError) -> any ExecProcess
    /// A node's matches for a log search (`query`: the URL query of `/berth/v1/logs`, with
    /// `namespace`), as JSON lines; with `follow=true` only new lines, as they come.
    func logSearch(node: String, query: String) async throws(BerthError) -> AsyncStream<[UInt8]>
    /// The kubelet-style `/stats/summary` of a node.
    func statsSummary(node: String) async throws(BerthError) -> JSONValue
    /// The node's `/metrics`, `/metrics/cadvisor` or `/metrics/resource` (`path` without the
    /// leading slash), in the format `accept` asks for: the body and its content type.
    func metrics(node: String, path: String, accept: String?) async throws(BerthError) -> (body: [UInt8], contentType: String)
    /// The node's ingress access log (`query`: `tailLines`, `sinceSeconds`, `timestamps`,
    /// `follow`, `limitBytes`, as for a container's log).
    func ingressAccessLog(node: String, query: String) async throws(BerthError) -> AsyncStream<[UInt8]>
    /// A TCP connect from inside a pod's network namespace, for `berth trace`:
    /// `{"connected": Bool, "milliseconds": Double, "detail": String}`.
    func probe(node: String, namespace: String, pod: String, address: String, port: Int) async throws(BerthError) -> JSONValue
}

/// The query of `pods/{name}/exec`.
public struct PodExecRequest: Sendable {
    public var container: String?
    public var command: [String] = []
    public var stdin = false
    public var stdout = true
    public var stderr = true
    public var tty = false
    /// Attach to the container's own stdio instead of starting `command` (`pods/attach -i`).
    public var attach = false
    /// A TCP connection to this port on the pod's loopback instead (`pods/portforward`).
    public var port: Int?
    public init() {}
}

/// A process started by exec, as the API server drives it.
public protocol ExecProcess: Sendable {
    /// Output chunks; stream 1 is stdout, 2 stderr.
    var output: AsyncStream<(stream: UInt8, bytes: [UInt8])> { get }
    func write(_ bytes: [UInt8])
    func closeStdin()
    func resize(width: UInt16, height: UInt16)
    func wait() async -> Int32
    func terminate()
}

/// The query of `GET pods/{name}/log`.
public struct PodLogRequest: Sendable {
    public var container: String?
    public var follow = false
    public var previous = false
    public var timestamps = false
    public var tailLines: Int?
    public var sinceSeconds: Int?
    public var sinceTime: Date?
    public var limitBytes: Int?
}

/// The node stream provider, set once the local agent runs.
public final class NodeStreams: Sendable {
    private let provider = Mutex<(any NodeStreamProvider)?>(nil)
    public init() {}
    public func set(_ provider: any NodeStreamProvider) { self.provider.withLock { $0 = provider } }
    var current: (any NodeStreamProvider)? { provider.withLock { $0 } }
}

extension APIServer {
    func podLogs(_ request: Request, _ target: ResourceTarget, _ name: String) async throws(BerthError) -> Response {
        let query = QueryParameters(request.uri.query)
        let pod = try await storage.get(target.descriptor, namespace: target.namespace, name: name)
        var logRequest = PodLogRequest()
        logRequest.container = query["container"]
        logRequest.follow = query.flag("follow")
        logRequest.previous = query.flag("previous")
        logRequest.timestamps = query.flag("timestamps")
        logRequest.tailLines = try query.integer("tailLines")
        logRequest.sinceSeconds = try query.integer("sinceSeconds")
        logRequest.limitBytes = try query.integer("limitBytes")
        if let text = query["sinceTime"] {
            guard let date = RFC3339.parse(text) else {
                throw BerthError.invalid(kind: "PodLogOptions", name: name, causes: [.invalid("sinceTime", text, "must be an RFC 3339 time")])
            }
            logRequest.sinceTime = date
        }
        for (field, value) in [("tailLines", logRequest.tailLines), ("sinceSeconds", logRequest.sinceSeconds), ("limitBytes", logRequest.limitBytes)] {
            if let value, value < (field == "tailLines" ? 0 : 1) {
                throw BerthError.invalid(kind: "PodLogOptions", name: name, causes: [.invalid(field, String(value), field == "tailLines" ? "must be greater than or equal to 0" : "must be greater than 0")])
            }
        }
        guard let node = pod.value(at: ["spec", "nodeName"])?.stringValue, !node.isEmpty else {
            throw BerthError(.badRequest, "pod \(name) does not have a host assigned")
        }
        guard let provider = nodeStreams.current else {
            throw BerthError(.unavailable, "no agent serves node \(node) from this server yet")
        }
        let stream = try await provider.logs(node: node, namespace: target.namespace ?? "default", pod: name, request: logRequest)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain"
        let body = ResponseBody { writer in
            for await chunk in stream {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
