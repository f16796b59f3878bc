import BerthClient
import BerthCore
import Foundation

/// The few typed API calls the agent makes, on top of `APIClient`.
struct AgentAPI: Sendable {
    let client: APIClient

    func get<T: Decodable>(_ type: T.Type, _ path: String) async throws(BerthError) -> T {
        let reply = try await client.request(.GET, path).checked()
        return try JSONCoding.decode(type, from: Data(reply.body))
    }

    func getIfPresent<T: Decodable>(_ type: T.Type, _ path: String) async throws(BerthError) -> T? {
        let reply = try await client.request(.GET, path)
        if reply.status == 404 { return nil }
        return try JSONCoding.decode(type, from: Data(try reply.checked().body))
    }

    @discardableResult
    func create(_ path: String, _ object: some Encodable) async throws(BerthError) -> AgentAPIClient.Reply {
        try await client.request(.POST, path, body: Array(try JSONCoding.encode(object))).checked()
    }

    @discardableResult
    func put(_ path: String, _ object: some Encodable) async throws(BerthError) -> AgentAPIClient.Reply {
        try await client.request(.PUT, path, body: Array(try JSONCoding.encode(object))).checked()
    }

    @discardableResult
    func mergePatch(_ path: String, _ patch: JSONValue) async throws(BerthError) -> AgentAPIClient.Reply {
        try await client.request(.PATCH, path, body: JSONWriter.bytes(patch), contentType: "application/merge-patch+json").checked()
    }

    func delete(_ path: String, body: JSONValue? = nil) async throws(BerthError) {
        let reply = try await client.request(.DELETE, path, body: body.map(JSONWriter.bytes))
        if reply.status == 404 { return }
        _ = try reply.checked()
    }

    /// Records an Event about a pod, as the kubelet does ("Pulled", "Created", "Started", "BackOff", …).
    func event(pod: Pod, reason: String, message: String, type: String = "Normal", node: String) async {
        let now = Date()
        let namespace = pod.metadata.namespace ?? "default"
        let stamp = JSONValue.string(TableCells.formatTimestamp(now))
        let name = "\(pod.metadata.name ?? "pod").\(String(UInt64(now.timeIntervalSince1970 * 1e9), radix: 16))"
        let event: JSONValue = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(name), "namespace": .string(namespace)],
            "involvedObject": [
                "kind": "Pod", "apiVersion": "v1", "namespace": .string(namespace),
                "name": .string(pod.metadata.name ?? ""), "uid": .string(pod.metadata.uid ?? ""),
            ],
            "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": ["component": "berth-agent", "host": .string(node)],
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": "berth-agent", "reportingInstance": .string(node),
        ]
        // Events are informational: they never hold up starting or stopping a container.
        let client = self.client
        Task { _ = try? await client.request(.POST, "/api/v1/namespaces/\(namespace)/events", body: JSONWriter.bytes(event)) }
    }
}

typealias AgentAPIClient = APIClient
