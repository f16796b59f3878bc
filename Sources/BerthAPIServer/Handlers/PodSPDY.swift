import BerthCore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1

/// exec, attach and port-forward for kubectl 1.27–1.29, which upgrade the connection to
/// SPDY/3.1 (`SPDYUpgradeInterceptor`) instead of WebSocket: the same pipeline (authenticate,
/// authorize `create` on `pods/SUBRESOURCE`, audit), the same processes on the pod's node, the
/// protocols `v4.channel.k8s.io` (`SPDYExecSession`) and `portforward.k8s.io`
/// (`PortForwardSession`).
extension APIServer {
    public func decideSPDYUpgrade(_ head: HTTPRequestHead, channel: any Channel) async -> SPDYUpgradeDecision {
        let full = head.uri
        let path = String(full.split(separator: "?", maxSplits: 1).first ?? "")
        let query = QueryParameters(full.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init))
        let segments = path.split(separator: "/").map(String.init)
        guard segments.count == 7, segments[0] == "api", segments[1] == "v1", segments[2] == "namespaces", segments[4] == "pods",
              ["exec", "attach", "portforward"].contains(segments[6]) else {
            return Self.refusal(BerthError(.badRequest, "only pods' exec, attach and portforward upgrade to SPDY"))
        }
        let (namespace, name, subresource) = (segments[3], segments[5], segments[6])
        var fields = HTTPFields()
        for (field, value) in head.headers {
            if let fieldName = HTTPField.Name(field) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        let request = HTTPRequest(method: HTTPRequest.Method(head.method.rawValue) ?? .post, scheme: "https", authority: nil, path: full, headerFields: fields)
        if let refusal = await upgradeRefusal(request, path: path, namespace: namespace, name: name, subresource: subresource, channel: channel) {
            return Self.refusal(refusal)
        }
        let offered = head.headers["X-Stream-Protocol-Version"].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        let logger = self.logger
        if subresource == "portforward" {
            guard offered.contains(PortForwardSession.protocolVersion) else {
                return Self.refusal(BerthError(.badRequest, "port-forward over SPDY speaks \(PortForwardSession.protocolVersion)"))
            }
            let session = await portForwardSession(namespace: namespace, name: name)
            return .upgrade(headers: [("X-Stream-Protocol-Version", PortForwardSession.protocolVersion)]) { connection in
                do {
                    try await session.run(chunks: connection.inbound, write: connection.write)
                } catch {
                    logger.debug("port-forward session ended", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
                }
            }
        }
        guard offered.contains(SPDYExecSession.protocolVersion) else {
            return Self.refusal(BerthError(.badRequest, "\(subresource) over SPDY speaks \(SPDYExecSession.protocolVersion); offered: \(offered.joined(separator: ", "))"))
        }
        let started: (PodExecRequest, any ExecProcess)
        do throws(BerthError) {
            started = subresource == "attach" ? try await startAttach(namespace: namespace, name: name, query: query)
                : try await startExec(namespace: namespace, name: name, query: query)
        } catch {
            return Self.refusal(error)
        }
        let session = SPDYExecSession(process: started.1, request: started.0, logger: logger)
        return .upgrade(headers: [("X-Stream-Protocol-Version", SPDYExecSession.protocolVersion)]) { connection in await session.run(connection) }
    }

    static func refusal(_ error: BerthError) -> SPDYUpgradeDecision {
        let status = error.code.httpStatus
        let body = JSONWriter.bytes((try? JSONValue(encoding: Status(error: error))) ?? [:])
        return .refuse(status: status, reason: HTTPResponseStatus(statusCode: status).reasonPhrase, statusJSON: body)
    }
}
