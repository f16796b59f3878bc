import BerthCore
import BerthRuntime
import CBerthSys
import Foundation
import Glibc

/// A TCP connection to a pod's port as the kubelet makes it for `kubectl port-forward`: to
/// 127.0.0.1 inside the pod's network namespace, so ports bound to the pod's loopback are
/// reachable too. Bytes written go to the pod, its replies arrive on stream 1; `closeStdin`
/// half-closes.
public final class PodPortConnection: Sendable {
    private let connection: SocketStream

    public var output: AsyncStream<(stream: UInt8, bytes: [UInt8])> { connection.output }

    init(networkNamespace: String, port: Int, pod: String) throws(BerthError) {
        let fd = berth_connect_in_netns(networkNamespace, Int32(port), 5000)
        guard fd >= 0 else {
            let reason: String
            switch -fd {
            case ECONNREFUSED: reason = "connection refused"
            case ETIMEDOUT, EINPROGRESS, EAGAIN: reason = "timed out"
            default: reason = String(cString: strerror(-fd)).lowercased()
            }
            throw BerthError(.badRequest, "failed to connect to localhost:\(port) in pod \(pod): \(reason)")
        }
        connection = SocketStream(socket: fd, bufferSize: 32 * 1024) { bytes in (1, Array(bytes)) }
    }

    public func write(_ bytes: [UInt8]) { connection.send(bytes) }
    public func closeStdin() { connection.shutdownWrite() }
    public func resize(width: UInt16, height: UInt16) {}
    /// Returns once the pod has closed its side.
    public func wait() async -> Int32 { await connection.wait() }
    public func terminate() { connection.terminate() }
}

extension AgentService {
    /// A port-forward connection to a pod running on this node.
    public func connect(namespace: String, pod: String, port: Int) async throws(BerthError) -> PodPortConnection {
        guard let worker = await manager.worker(namespace: namespace, name: pod) else {
            throw BerthError(.notFound, "pod \"\(pod)\" is not running on node \(configuration.nodeName)")
        }
        return try PodPortConnection(networkNamespace: PodNetwork.namespacePath(podUID: worker.uid), port: port, pod: pod)
    }
}
