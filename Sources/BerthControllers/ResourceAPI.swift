import BerthClient
import BerthCore
import Foundation

/// The API calls controllers and the scheduler make, typed, over `APIClient` (the same wire
/// format kubectl speaks, so controllers could as well run outside the server).
public struct ResourceAPI: Sendable {
    public let client: APIClient
    /// Shared by every controller and the scheduler, so repeats are counted across them.
    public let events: EventRecorder

    public init(client: APIClient) {
        self.client = client
        events = EventRecorder(client: client)
    }

    public struct ListResult<T: Sendable>: Sendable {
        public var items: [T]
        public var resourceVersion: String
    }

    public func list<T: APIResource>(_ descriptor: ResourceDescriptor, as type: T.Type, fieldSelector: String? = nil) async throws(BerthError) -> ListResult<T> {
        var path = client.path(descriptor, namespace: nil)
        if let fieldSelector { path += "?fieldSelector=" + Self.escape(fieldSelector) }
        let reply = try await client.request(.GET, path, timeout: .seconds(300)).checked()
        let list = try JSONParser.parse(reply.body)
        var items: [T] = []
        for item in list["items"]?.arrayValue ?? [] { items.append(try item.decode(T.self)) }
        return ListResult(items: items, resourceVersion: list["metadata"]?["resourceVersion"]?.stringValue ?? "0")
    }

    /// The objects of a kind in one namespace, read from the store now (not from a cache):
    /// for counts that must not miss an object acknowledged a moment ago.
    public func listObjects(_ descriptor: ResourceDescriptor, namespace: String) async throws(BerthError) -> [JSONValue] {
        let reply = try await client.request(.GET, client.path(descriptor, namespace: namespace), timeout: .seconds(300)).checked()
        return try JSONParser.parse(reply.body)["items"]?.arrayValue ?? []
    }

    public func watch(_ descriptor: ResourceDescriptor, from resourceVersion: String, fieldSelector: String? = nil) async throws(BerthError) -> WatchEvents {
        var path = client.path(descriptor, namespace: nil) + "?watch=true&allowWatchBookmarks=true&resourceVersion=\(resourceVersion)"
        if let fieldSelector { path += "&fieldSelector=" + Self.escape(fieldSelector) }
        return try await client.watch(path)
    }

    public func get<T: APIResource>(_ descriptor: ResourceDescriptor, namespace: String?, name: String, as type: T.Type) async throws(BerthError) -> T? {
        let reply = try await client.request(.GET, client.path(descriptor, namespace: namespace, name: name))
        if reply.status == 404 { return nil }
        return try JSONParser.parse(try reply.checked().body).decode(T.self)
    }

    /// Creates; the reply is not decoded (controllers learn of the object from their informers).
    public func create<T: APIResource>(_ descriptor: ResourceDescriptor, namespace: String?, _ object: T) async throws(BerthError) {
        _ = try await client.request(.POST, client.path(descriptor, namespace: namespace), body: try Self.body(object)).checked()
    }

    /// PUT of the whole object (optimistic concurrency on its resourceVersion), or of its status.
    public func update<T: APIResource>(_ descriptor: ResourceDescriptor, _ object: T, subresource: String? = nil) async throws(BerthError) {
        let path = client.path(descriptor, namespace: object.metadata.namespace, name: object.metadata.name ?? "", subresource: subresource)
        _ = try await client.request(.PUT, path, body: try Self.body(object)).checked()
    }

    /// The same PUT, returning the stored object (for callers that write it again).
    public func updateReturning<T: APIResource>(_ descriptor: ResourceDescriptor, _ object: T, subresource: String? = nil) async throws(BerthError) -> T {
        let path = client.path(descriptor, namespace: object.metadata.namespace, name: object.metadata.name ?? "", subresource: subresource)
        let reply = try await client.request(.PUT, path, body: try Self.body(object)).checked()
        return try JSONParser.parse(reply.body).decode(T.self)
    }

    /// Request bodies through Berth's own JSON encoder (Foundation's costs about twice as much).
    static func body(_ object: some Encodable) throws(BerthError) -> [UInt8] {
        JSONWriter.bytes(try JSONValue(encoding: object))
    }

    public func mergePatch(_ descriptor: ResourceDescriptor, namespace: String?, name: String, _ patch: JSONValue, subresource: String? = nil) async throws(BerthError) {
        let path = client.path(descriptor, namespace: namespace, name: name, subresource: subresource)
        _ = try await client.request(.PATCH, path, body: JSONWriter.bytes(patch), contentType: "application/merge-patch+json").checked()
    }

    public func strategicPatch(_ descriptor: ResourceDescriptor, namespace: String?, name: String, _ patch: JSONValue) async throws(BerthError) {
        let path = client.path(descriptor, namespace: namespace, name: name)
        _ = try await client.request(.PATCH, path, body: JSONWriter.bytes(patch), contentType: "application/strategic-merge-patch+json").checked()
    }

    /// Deletes; a missing object counts as deleted. `uid` guards against deleting a newer object
    /// that took the same name.
    public func delete(_ descriptor: ResourceDescriptor, namespace: String?, name: String, uid: String? = nil,
                       gracePeriodSeconds: Int? = nil, propagationPolicy: String? = nil) async throws(BerthError) {
        var options: JSONValue = ["apiVersion": "v1", "kind": "DeleteOptions"]
        if let uid { options["preconditions"] = ["uid": .string(uid)] }
        if let gracePeriodSeconds { options["gracePeriodSeconds"] = .number(String(gracePeriodSeconds)) }
        if let propagationPolicy { options["propagationPolicy"] = .string(propagationPolicy) }
        let reply = try await client.request(.DELETE, client.path(descriptor, namespace: namespace, name: name), body: JSONWriter.bytes(options))
        if reply.status == 404 { return }
        _ = try reply.checked()
    }

    public func bind(namespace: String, pod: String, uid: String?, node: String) async throws(BerthError) {
        var metadata: JSONValue = ["name": .string(pod), "namespace": .string(namespace)]
        if let uid { metadata["uid"] = .string(uid) }
        let binding: JSONValue = ["apiVersion": "v1", "kind": "Binding", "metadata": metadata, "target": ["apiVersion": "v1", "kind": "Node", "name": .string(node)]]
        let path = client.path(ResourceDescriptor.pod, namespace: namespace, name: pod, subresource: "binding")
        _ = try await client.request(.POST, path, body: JSONWriter.bytes(binding)).checked()
    }

    /// Records an Event about an object, as Kubernetes components do (repeats counted); best effort.
    public func event(about object: ObjectReferenceValue, reason: String, message: String, type: String = "Normal", component: String) async {
        await events.record(about: object, reason: reason, message: message, type: type, component: component)
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: ".-_"))) ?? text
    }
}
