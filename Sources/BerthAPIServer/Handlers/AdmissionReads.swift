import BerthCore
import BerthStore
import ServiceLifecycle
import Synchronization

/// Mirrored objects already parsed, by key and revision: a pod create consults its namespace in
/// several admission plugins (lifecycle, Pod Security, tenant, quota), and the namespace changes
/// seldom.
final class AdmissionDecodeCache: Sendable {
    static let capacity = 4096
    private let entries = Mutex<[String: (revision: Int64, object: JSONValue)]>([:])

    func object(_ kv: KeyValue) throws(BerthError) -> JSONValue {
        if let hit = entries.withLock({ $0[kv.key] }), hit.revision == kv.modRevision { return hit.object }
        let object = try ObjectCodec.decode(kv)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            entries[kv.key] = (kv.modRevision, object)
        }
        return object
    }
}

/// Kinds that admission reads on every pod create (and RBAC on every request), served from `PrefixMirror` where the store
/// allows it (see there); the reads fall back to the store, so results are the same either way.
extension APIServer {
    static let mirroredKinds: [ResourceDescriptor] = [.namespace, .priorityClass, .ipPool, .role, .clusterRole, .roleBinding, .clusterRoleBinding, .limitRange, .resourceQuota, .tenant, .serviceAccount]

    /// Every object of a mirrored cluster-scoped kind, in key order.
    func admissionList(_ descriptor: ResourceDescriptor) async throws(BerthError) -> [KeyValue] {
        if let values = admissionMirror.values(under: storage.prefix(descriptor, namespace: nil)) { return values }
        return try await storage.list(descriptor, namespace: nil, limit: 0, continueAfter: nil).kvs
    }

    func admissionDecoded(_ kv: KeyValue) throws(BerthError) -> JSONValue { try admissionDecodeCache.object(kv) }

    /// One object of a mirrored namespaced kind; 404 when it does not exist.
    func admissionGet(_ descriptor: ResourceDescriptor, namespace: String, name: String) async throws(BerthError) -> JSONValue {
        let key = storage.key(descriptor, namespace: namespace, name: name)
        switch admissionMirror.value(at: key, under: storage.prefix(descriptor, namespace: nil)) {
        case .some(.some(let kv)): return try admissionDecoded(kv)
        case .some(.none): throw BerthError.notFound(descriptor.plural, name, group: descriptor.group)
        case .none: return try await storage.get(descriptor, namespace: namespace, name: name)
        }
    }

    /// One object of a mirrored cluster-scoped kind; 404 when it does not exist.
    func admissionGet(_ descriptor: ResourceDescriptor, name: String) async throws(BerthError) -> JSONValue {
        let key = storage.key(descriptor, namespace: nil, name: name)
        switch admissionMirror.value(at: key, under: storage.prefix(descriptor, namespace: nil)) {
        case .some(.some(let kv)): return try admissionDecoded(kv)
        case .some(.none): throw BerthError.notFound(descriptor.plural, name, group: descriptor.group)
        case .none: return try await storage.get(descriptor, namespace: nil, name: name)
        }
    }
}

/// Runs the admission mirror beside the HTTP server.
struct AdmissionMirrorService: ServiceLifecycle.Service {
    let mirror: PrefixMirror
    let store: any KeyValueStore

    func run() async throws {
        await cancelWhenGracefulShutdown { await mirror.run(store) }
    }
}
