import BerthClient
import BerthCore
import Foundation

/// The few typed API calls the agent makes, on top of `APIClient`.
struct AgentAPI: Sendable {
    let client: APIClient
    let events: EventRecorder

    init(client: APIClient) {
        self.client = client
        events = EventRecorder(client: client)
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String) async throws(BerthError) -> T {
        let reply = try await client.request(.GET, path).checked()
        return try JSONCoding.decode(type, from: Data(reply.body))
    }

    /// A list's items that decode as `T` (others skipped).
    func list<T: Decodable>(_ type: T.Type, _ path: String) async throws(BerthError) -> [T] {
        let value = try await get(JSONValue.self, path)
        return (value["items"]?.arrayValue ?? []).compactMap { try? $0.decode(T.self) }
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

    /// Records an Event about a pod, as the kubelet does ("Pulling", "Pulled", "Created", "Started",
    /// "Killing", "BackOff" …), repeats counted up.
    func event(pod: Pod, reason: String, message: String, type: String = "Normal", node: String) async {
        let involved = ObjectReferenceValue(pod)
        // Events are informational: they never hold up starting or stopping a container.
        let events = self.events
        Task { await events.record(about: involved, reason: reason, message: message, type: type, component: "kubelet", host: node) }
    }
}

typealias AgentAPIClient = APIClient
