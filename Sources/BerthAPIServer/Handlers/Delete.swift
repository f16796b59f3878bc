import BerthCore
import BerthStore
import Hummingbird

extension APIServer {
    func delete(_ target: ResourceTarget, _ name: String, _ options: DeleteOptions) async throws(BerthError) -> Response {
        let descriptor = target.descriptor
        for attempt in 0..<8 {
            let current = try await readForRequest(descriptor, namespace: target.namespace, name: name, firstAttempt: attempt == 0)
            let revision = Int64(current.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
            if let uid = options.preconditionUID, uid != current.value(at: ["metadata", "uid"])?.stringValue {
                throw BerthError(.conflict, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current.value(at: ["metadata", "uid"])?.stringValue ?? "")")
            }
            if let version = options.preconditionResourceVersion, version != String(revision) {
                throw BerthError(.conflict, "Precondition failed: ResourceVersion in precondition: \(version), ResourceVersion in object meta: \(revision)")
            }
            var finalizers = current.value(at: ["metadata", "finalizers"])?.arrayValue ?? []
            switch options.propagationPolicy {
            case "Foreground" where !finalizers.contains("foregroundDeletion"): finalizers.append("foregroundDeletion")
            case "Orphan" where !finalizers.contains("orphan"): finalizers.append("orphan")
            default: break
            }
            let graceful = try await gracefulDeletionSeconds(descriptor, current, options)
            let alreadyDeleting = current.value(at: ["metadata", "deletionTimestamp"]) != nil
            if descriptor.kind == "Namespace" || !finalizers.isEmpty || graceful != nil {
                if options.dryRun { return Responses.json(current) }
                if alreadyDeleting && graceful == nil && finalizers == current.value(at: ["metadata", "finalizers"])?.arrayValue ?? [] {
                    return Responses.json(current)
                }
                var marked = current
                marked.set(nil, at: ["metadata", "resourceVersion"])
                if !alreadyDeleting {
                    marked.set(.string(TableCells.formatTimestamp(clock.now().addingTimeInterval(Double(graceful ?? 0)))), at: ["metadata", "deletionTimestamp"])
                }
                marked.set(.number(String(graceful ?? 0)), at: ["metadata", "deletionGracePeriodSeconds"])
                if !finalizers.isEmpty { marked.set(.array(finalizers), at: ["metadata", "finalizers"]) }
                if descriptor.kind == "Namespace" { marked.set("Terminating", at: ["status", "phase"]) }
                if let generation = current.value(at: ["metadata", "generation"])?.intValue, descriptor.tracksGeneration, !alreadyDeleting {
                    marked.set(.number(String(generation + 1)), at: ["metadata", "generation"])
                }
                do {
                    let stored = try await storage.update(descriptor, marked, expectedRevision: revision)
                    if descriptor.kind == "Namespace" { namespaceFinalizer.enqueue(name) }
                    return Responses.json(stored)
                } catch where error.code == .conflict {
                    continue
                }
            }
            if options.dryRun { return Responses.json(current) }
            if descriptor.kind == "CertificateSigningRequest" { try await revokeIssuedCertificate(current) }
            do {
                let reserved = descriptor.kind == "Service" ? Self.reservedKeys(current) : []
                let deleted = try await storage.delete(descriptor, namespace: target.namespace, name: name, expectedRevision: revision, alsoDelete: reserved)
                return Responses.json(deleted)
            } catch where error.code == .conflict {
                continue
            }
        }
        throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
    }

    /// Pods on a node that exists stop gracefully: the node's agent finishes the deletion.
    /// Everything else (and a grace period of 0) is deleted at once.
    func gracefulDeletionSeconds(_ descriptor: ResourceDescriptor, _ object: JSONValue, _ options: DeleteOptions) async throws(BerthError) -> Int? {
        guard descriptor.kind == "Pod", let node = object.value(at: ["spec", "nodeName"])?.stringValue, !node.isEmpty else { return nil }
        let phase = object.value(at: ["status", "phase"])?.stringValue
        if phase == "Succeeded" || phase == "Failed" { return nil }
        let grace = options.gracePeriodSeconds ?? object.value(at: ["spec", "terminationGracePeriodSeconds"])?.intValue ?? 30
        if grace == 0 { return nil }
        do {
            _ = try await storage.get(.node, namespace: nil, name: node)
        } catch where error.code == .notFound {
            return nil
        }
        return grace
    }

    func deleteCollection(_ target: ResourceTarget, _ query: QueryParameters, _ options: DeleteOptions) async throws(BerthError) -> Response {
        let selection = try ListSelection(query, descriptor: target.descriptor)
        let page = try await storage.list(target.descriptor, namespace: target.namespace, limit: 0, continueAfter: nil)
        var deleted: [JSONValue] = []
        for kv in page.kvs {
            let object = try ObjectCodec.decode(kv)
            guard selection.matches(object), let name = object.value(at: ["metadata", "name"])?.stringValue else { continue }
            var itemTarget = target
            itemTarget.namespace = object.value(at: ["metadata", "namespace"])?.stringValue
            do {
                _ = try await delete(itemTarget, name, options)
                deleted.append(object)
            } catch where error.code == .notFound {
                continue
            }
        }
        let list: JSONValue = ["apiVersion": .string(target.descriptor.apiVersion), "kind": .string(target.descriptor.kind + "List"),
                               "metadata": ["resourceVersion": .string(String(page.revision))], "items": .array(deleted)]
        return Responses.json(list)
    }
}
