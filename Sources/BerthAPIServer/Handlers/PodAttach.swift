import BerthCore
import Foundation

/// `pods/{name}/attach` (`kubectl attach`, `kubectl run -it`), over the same WebSocket channel
/// protocol as exec. With `-i` or `-t` the session is the container's own stdio through
/// conmon's attach socket on its node (stdin needs a container started with `stdin: true`;
/// resizes go to its terminal); without, the output from now on comes from the container's log
/// as conmon writes it (stdout and stderr both on the stdout channel).
extension APIServer {
    func startAttach(namespace: String, name: String, query: QueryParameters) async throws(BerthError) -> (PodExecRequest, any ExecProcess) {
        let pod = try await storage.get(.pod, namespace: namespace, name: name)
        let containers = pod.value(at: ["spec", "containers"])?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        let container = query["container"] ?? containers.first ?? ""
        guard containers.contains(container) else {
            throw BerthError(.badRequest, "container \(container) is not valid for pod \(name)")
        }
        guard let node = pod.value(at: ["spec", "nodeName"])?.stringValue, !node.isEmpty else {
            throw BerthError(.badRequest, "pod \(name) does not have a host assigned")
        }
        guard let provider = nodeStreams.current else { throw BerthError(.unavailable, "no agent serves node \(node) from this server yet") }
        if query.flag("stdin") || query.flag("tty") {
            // The container's own stdio, through conmon's attach socket on its node.
            var request = PodExecRequest()
            request.container = container
            request.attach = true
            request.stdin = query.flag("stdin")
            request.tty = query.flag("tty")
            request.stdout = query["stdout"].map { _ in query.flag("stdout") } ?? true
            request.stderr = query["stderr"].map { _ in query.flag("stderr") } ?? !request.tty
            return (request, try await provider.exec(node: node, namespace: namespace, pod: name, request: request))
        }
        var logRequest = PodLogRequest()
        logRequest.container = container
        logRequest.follow = true
        logRequest.tailLines = 0
        let lines = try await provider.logs(node: node, namespace: namespace, pod: name, request: logRequest)
        var request = PodExecRequest()
        request.container = container
        request.command = ["attach"]
        request.stdout = query["stdout"].map { _ in query.flag("stdout") } ?? true
        request.stderr = query["stderr"].map { _ in query.flag("stderr") } ?? true
        return (request, LogAttachment(lines))
    }
}

/// An attach session as an `ExecProcess`: output is the followed log, it ends when the
/// container's log ends (the container stopped) or the client leaves.
final class LogAttachment: ExecProcess {
    let output: AsyncStream<(stream: UInt8, bytes: [UInt8])>
    private let pump: Task<Void, Never>

    init(_ lines: AsyncStream<[UInt8]>) {
        let (output, continuation) = AsyncStream<(stream: UInt8, bytes: [UInt8])>.makeStream()
        self.output = output
        pump = Task {
            for await chunk in lines {
                if Task.isCancelled { break }
                continuation.yield((stream: 1, bytes: chunk))
            }
            continuation.finish()
        }
        continuation.onTermination = { [pump] _ in pump.cancel() }
    }

    func write(_ bytes: [UInt8]) {}
    func closeStdin() {}
    func resize(width: UInt16, height: UInt16) {}
    func wait() async -> Int32 {
        await pump.value
        return 0
    }
    func terminate() { pump.cancel() }
}
