import BerthCore
import BerthStore
import Foundation
import Hummingbird
import NIOCore

/// `GET /berth/v1/logs/namespaces/NS?labelSelector=app%3Dweb&sinceSeconds=3600&grep=ERROR&limit=N[&follow=true]`:
/// a search across every node's pods of the namespace that match, ended ones included (as long
/// as their node keeps them), as JSON lines `{"time","namespace","pod","container","line","ended"}`
/// merged by time, newest first; with `follow`, then new lines from all nodes as they come.
/// Authorized as reading `pods/log` in the namespace.
extension APIServer {
    static let logSearchPrefix = "/berth/v1/logs/namespaces/"

    static var logSearchMount: Mount {
        Mount(name: "log-search", matches: { $0.hasPrefix(logSearchPrefix) }, target: { request, _ in
            let namespace = String(request.uri.path.dropFirst(logSearchPrefix.count))
            return ResourceTarget(descriptor: .pod, namespace: namespace, name: nil, subresource: "log")
        }) { server, request, _, _ throws(BerthError) in
            guard request.method == .get else { throw BerthError(.methodNotAllowed, "log searches are read-only") }
            let namespace = String(request.uri.path.dropFirst(logSearchPrefix.count))
            guard !namespace.isEmpty, !namespace.contains("/") else { throw BerthError(.notFound, "search logs at \(logSearchPrefix)NAMESPACE") }
            return try await server.searchLogs(namespace: namespace, request.uri.query ?? "")
        }
    }

    func searchLogs(namespace: String, _ rawQuery: String) async throws(BerthError) -> Response {
        let query = QueryParameters(rawQuery)
        _ = try LabelSelector(parsing: query["labelSelector"] ?? "")
        if let since = query["sinceSeconds"], Double(since).map({ $0 >= 0 }) != true {
            throw BerthError.invalid(kind: "LogSearch", name: namespace, causes: [.invalid("sinceSeconds", since, "must be a number of seconds")])
        }
        let limit = min(10_000, max(1, Int(query["limit"] ?? "") ?? 1000))
        let follow = query.flag("follow")
        guard let provider = nodeStreams.current else { throw BerthError(.unavailable, "no agent serves logs from this server yet") }
        let nodes = try await storage.list(.node, namespace: nil, limit: 0, continueAfter: nil).kvs.compactMap {
            (try? ObjectCodec.decode($0))?.value(at: ["metadata", "name"])?.stringValue
        }
        // The agents' query: this namespace, without follow (the history), then with it.
        let base = rawQuery.split(separator: "&").filter { !$0.hasPrefix("namespace=") && !$0.hasPrefix("follow=") }.joined(separator: "&")
        let agentQuery = "namespace=\(namespace)" + (base.isEmpty ? "" : "&" + base)
        var entries: [(time: String, bytes: ArraySlice<UInt8>)] = []
        await withTaskGroup(of: [UInt8].self) { group in
            for node in nodes {
                group.addTask {
                    guard let stream = try? await provider.logSearch(node: node, query: agentQuery) else { return [] }
                    var bytes: [UInt8] = []
                    for await chunk in stream { bytes += chunk }
                    return bytes
                }
            }
            for await bytes in group {
                for line in bytes.split(separator: 0x0A) where !line.isEmpty {
                    // `{"container":…,"time":"…"}`: the time sorts as text (RFC 3339, one zone).
                    let time = (try? JSONParser.parse(Array(line)))?["time"]?.stringValue ?? ""
                    entries.append((time, line))
                }
            }
        }
        entries.sort { $0.time > $1.time }
        var history: [UInt8] = []
        for entry in entries.prefix(limit) {
            history += entry.bytes
            history.append(0x0A)
        }
        guard follow else {
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: history)))
        }
        let followQuery = agentQuery + "&follow=true&limit=1&sinceSeconds=0"
        let found = history
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(bytes: found))
            let (merged, continuation) = AsyncStream<[UInt8]>.makeStream()
            let feeds = Task {
                await withTaskGroup(of: Void.self) { group in
                    for node in nodes {
                        group.addTask {
                            // Its own history is empty (since now): what comes is new lines.
                            guard let stream = try? await provider.logSearch(node: node, query: followQuery) else { return }
                            for await chunk in stream where !chunk.isEmpty { continuation.yield(chunk) }
                        }
                    }
                }
                continuation.finish()
            }
            defer { feeds.cancel() }
            for await chunk in merged where !chunk.isEmpty { try await writer.write(ByteBuffer(bytes: chunk)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
    }
}
