import BerthCore
import Foundation
import Synchronization

/// Records Kubernetes Events the way Kubernetes components do: a repeat of an event already
/// recorded (same object, component, host, type, reason and message) does not make another
/// Event but counts the first one up (`count`, `lastTimestamp`), as client-go's event
/// correlator does — a container in CrashLoopBackOff shows one `BackOff` event with
/// `x12 over 3m` in `kubectl describe`, not twelve. Best effort: a failed write is dropped.
public final class EventRecorder: Sendable {
    /// What makes two events the same event.
    struct Key: Hashable {
        let object: String
        let component: String
        let host: String
        let type: String
        let reason: String
        let message: String
    }

    struct Recorded {
        let namespace: String
        let name: String
        var count: Int
    }

    let client: APIClient
    /// The events seen lately; forgotten wholesale past `capacity` (repeats after that make a
    /// new Event, which is what Kubernetes does once its LRU cache drops an entry).
    private let recorded = Mutex<[Key: Recorded]>([:])
    let capacity: Int

    public init(client: APIClient, capacity: Int = 4_096) {
        self.client = client
        self.capacity = capacity
    }

    public func record(about object: ObjectReferenceValue, reason: String, message: String, type: String = "Normal",
                       component: String, host: String? = nil, now: Date = Date()) async {
        let key = Key(object: "\(object.apiVersion)/\(object.kind)/\(object.namespace ?? "")/\(object.name)/\(object.uid ?? "")",
                      component: component, host: host ?? "", type: type, reason: reason, message: message)
        let stamp = JSONValue.string(TableCells.formatTimestamp(now))
        let repeated: Recorded? = recorded.withLock { seen in
            guard var entry = seen[key] else { return nil }
            entry.count += 1
            seen[key] = entry
            return entry
        }
        if let repeated {
            let path = "/api/v1/namespaces/\(repeated.namespace)/events/\(repeated.name)"
            let patch: JSONValue = ["count": .number(String(repeated.count)), "lastTimestamp": stamp]
            if let reply = try? await client.request(.PATCH, path, body: JSONWriter.bytes(patch), contentType: "application/merge-patch+json"),
               reply.status != 404 {
                return
            }
            // The Event is gone (deleted, or expired): record it afresh.
        }
        let namespace = object.namespace ?? "default"
        let name = "\(object.name).\(String(UInt64(now.timeIntervalSince1970 * 1e9), radix: 16))"
        var involved: JSONValue = ["kind": .string(object.kind), "apiVersion": .string(object.apiVersion), "name": .string(object.name)]
        if let namespace = object.namespace { involved["namespace"] = .string(namespace) }
        if let uid = object.uid { involved["uid"] = .string(uid) }
        var source: JSONValue = ["component": .string(component)]
        if let host { source["host"] = .string(host) }
        var event: JSONValue = [
            "apiVersion": "v1", "kind": "Event",
            "metadata": ["name": .string(name), "namespace": .string(namespace)],
            "involvedObject": involved, "reason": .string(reason), "message": .string(message), "type": .string(type),
            "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": .string(component),
        ]
        if let host { event["reportingInstance"] = .string(host) }
        guard let reply = try? await client.request(.POST, "/api/v1/namespaces/\(namespace)/events", body: JSONWriter.bytes(event)),
              reply.status == 201 || reply.status == 200 else { return }
        recorded.withLock { seen in
            if seen.count >= capacity { seen.removeAll(keepingCapacity: true) }
            seen[key] = Recorded(namespace: namespace, name: name, count: 1)
        }
    }
}

/// Enough of an object to name it in an Event.
public struct ObjectReferenceValue: Sendable, Hashable {
    public var kind: String
    public var apiVersion: String
    public var namespace: String?
    public var name: String
    public var uid: String?

    public init(kind: String, apiVersion: String, namespace: String?, name: String, uid: String?) {
        self.kind = kind
        self.apiVersion = apiVersion
        self.namespace = namespace
        self.name = name
        self.uid = uid
    }

    public init(_ pod: Pod) {
        self.init(kind: "Pod", apiVersion: "v1", namespace: pod.metadata.namespace, name: pod.metadata.name ?? "", uid: pod.metadata.uid)
    }
}
