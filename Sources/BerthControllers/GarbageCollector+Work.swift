import BerthCore
import Foundation

extension GarbageCollector {
    func meta(kind: String, key: String) -> ObjectMeta? {
        switch kind {
        case "Pod": pods.get(key)?.metadata
        case "ReplicaSet": replicaSets.get(key)?.metadata
        case "Deployment": deployments.get(key)?.metadata
        case "DaemonSet": daemonSets.get(key)?.metadata
        case "ControllerRevision": revisions.get(key)?.metadata
        case "Job": jobs.get(key)?.metadata
        case "CronJob": cronJobs.get(key)?.metadata
        case "StatefulSet": statefulSets?.get(key)?.metadata
        case "PersistentVolumeClaim": claims?.get(key)?.metadata
        default: nil
        }
    }

    static func descriptor(_ kind: String) -> ResourceDescriptor? {
        switch kind {
        case "Pod": ResourceDescriptor.pod
        case "ReplicaSet": ResourceDescriptor.replicaSet
        case "Deployment": ResourceDescriptor.deployment
        case "DaemonSet": ResourceDescriptor.daemonSet
        case "ControllerRevision": ResourceDescriptor.controllerRevision
        case "Job": ResourceDescriptor.job
        case "CronJob": ResourceDescriptor.cronJob
        case "StatefulSet": ResourceDescriptor.statefulSet
        case "PersistentVolumeClaim": ResourceDescriptor.persistentVolumeClaim
        default: nil
        }
    }

    /// Whether the owner a reference names still exists: the cache first, then the API (the
    /// owner may be newer than the cache).
    func ownerState(_ reference: OwnerReference, namespace: String?) async throws -> ObjectMeta? {
        let key = Informer<Pod>.key(namespace: namespace, name: reference.name)
        if let cached = meta(kind: reference.kind, key: key), cached.uid == reference.uid { return cached }
        guard let descriptor = Self.descriptor(reference.kind) else {
            // An owner kind this collector does not know: never delete on its behalf.
            return ObjectMeta(name: reference.name)
        }
        let live: JSONValue? = try await api.get(descriptor, namespace: namespace, name: reference.name, as: AnyObject.self)?.value
        guard let live, live["metadata"]?["uid"]?.stringValue == reference.uid else { return nil }
        return try live["metadata"]?.decode(ObjectMeta.self)
    }

    func checkDependent(kind: String, key: String) async throws {
        guard let meta = meta(kind: kind, key: key), let references = meta.ownerReferences, !references.isEmpty,
              meta.deletionTimestamp == nil, let descriptor = Self.descriptor(kind) else { return }
        var anyAlive = false
        var blockingForeground = false
        for reference in references {
            guard let owner = try await ownerState(reference, namespace: meta.namespace) else { continue }
            if owner.deletionTimestamp != nil, owner.finalizers?.contains(Self.foreground) == true {
                if reference.blockOwnerDeletion == true { blockingForeground = true }
                continue
            }
            anyAlive = true
        }
        if anyAlive { return }
        let policy = blockingForeground ? "Foreground" : "Background"
        logger.debug("deleting dependent whose owners are gone", metadata: ["kind": "\(kind)", "object": "\(key)", "policy": "\(policy)"])
        try await api.delete(descriptor, namespace: meta.namespace, name: meta.name ?? "", uid: meta.uid, propagationPolicy: policy)
    }

    /// A deleting owner with the `foregroundDeletion` finalizer loses it once its dependents are
    /// gone; with `orphan`, once its dependents no longer point at it.
    func finishOwner(kind: String, key: String) async throws {
        guard let meta = meta(kind: kind, key: key), meta.deletionTimestamp != nil, let uid = meta.uid,
              let descriptor = Self.descriptor(kind) else { return }
        let finalizers = meta.finalizers ?? []
        let dependents = pods.owned(by: uid).map { ("Pod", $0.metadata) } + replicaSets.owned(by: uid).map { ("ReplicaSet", $0.metadata) }
            + revisions.owned(by: uid).map { ("ControllerRevision", $0.metadata) } + jobs.owned(by: uid).map { ("Job", $0.metadata) }
            + (claims?.owned(by: uid) ?? []).map { ("PersistentVolumeClaim", $0.metadata) }
        if finalizers.contains(Self.orphan) {
            for (dependentKind, dependent) in dependents {
                guard let dependentDescriptor = Self.descriptor(dependentKind) else { continue }
                let remaining = (dependent.ownerReferences ?? []).filter { $0.uid != uid }
                let references: JSONValue = .array(try remaining.map { try JSONValue(encoding: $0) })
                try await api.mergePatch(dependentDescriptor, namespace: dependent.namespace, name: dependent.name ?? "",
                                         ["metadata": ["ownerReferences": remaining.isEmpty ? .null : references, "uid": .string(dependent.uid ?? "")]])
            }
            try await removeFinalizer(Self.orphan, descriptor: descriptor, meta: meta)
            return
        }
        if finalizers.contains(Self.foreground) {
            let live = dependents.filter { $0.1.deletionTimestamp == nil }
            for (dependentKind, dependent) in live {
                guard let dependentDescriptor = Self.descriptor(dependentKind) else { continue }
                // Pods and revisions have no dependents of their own: a plain delete, not another foreground wait.
                try await api.delete(dependentDescriptor, namespace: dependent.namespace, name: dependent.name ?? "", uid: dependent.uid,
                                     propagationPolicy: dependentKind == "ReplicaSet" ? "Foreground" : "Background")
            }
            if dependents.isEmpty {
                try await removeFinalizer(Self.foreground, descriptor: descriptor, meta: meta)
            } else {
                queue.add(GarbageCollector.Item.owner(kind: kind, key: key).text, after: .milliseconds(500))
            }
        }
    }

    func removeFinalizer(_ finalizer: String, descriptor: ResourceDescriptor, meta: ObjectMeta) async throws {
        let remaining = (meta.finalizers ?? []).filter { $0 != finalizer }
        let patch: JSONValue = ["metadata": ["finalizers": remaining.isEmpty ? .null : .array(remaining.map { .string($0) }),
                                             "resourceVersion": .string(meta.resourceVersion ?? "")]]
        try await api.mergePatch(descriptor, namespace: meta.namespace, name: meta.name ?? "", patch)
    }
}

/// Any object, for reading metadata of kinds without a typed model in this module.
struct AnyObject: APIResource {
    var value: JSONValue
    var metadata: ObjectMeta {
        get { (try? value["metadata"]?.decode(ObjectMeta.self)) ?? ObjectMeta() }
        set { value["metadata"] = try? JSONValue(encoding: newValue) }
    }

    init(from decoder: any Decoder) throws { value = try JSONValue(from: decoder) }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
