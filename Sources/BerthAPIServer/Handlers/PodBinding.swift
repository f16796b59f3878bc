import BerthCore
import BerthStore
import Hummingbird

/// `pods/{name}/binding` (the scheduler assigns a node) and `pods/{name}/eviction` (drain
/// removes a pod through the policy API).
extension APIServer {
    /// Sets `spec.nodeName` once: a pod already bound is a 409, as in Kubernetes, so two
    /// schedulers racing for one pod cannot both win.
    func bindPod(_ target: ResourceTarget, _ name: String, _ body: JSONValue) async throws(BerthError) -> Response {
        guard body["kind"]?.stringValue ?? "Binding" == "Binding" else {
            throw BerthError(.badRequest, "expected a Binding, got \(body["kind"]?.stringValue ?? "")")
        }
        guard let node = body["target"]?["name"]?.stringValue, !node.isEmpty else {
            throw BerthError.invalid(kind: "Binding", name: name, causes: [.required("target.name")])
        }
        if let bodyName = body["metadata"]?["name"]?.stringValue, bodyName != name {
            throw BerthError(.badRequest, "the name of the Binding (\(bodyName)) does not match the pod in the URL (\(name))")
        }
        let descriptor = target.descriptor
        for _ in 0..<8 {
            let current = try await storage.get(descriptor, namespace: target.namespace, name: name)
            if let uid = body["metadata"]?["uid"]?.stringValue, !uid.isEmpty, uid != current.value(at: ["metadata", "uid"])?.stringValue {
                throw BerthError(.conflict, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current.value(at: ["metadata", "uid"])?.stringValue ?? "")")
            }
            if current.value(at: ["metadata", "deletionTimestamp"]) != nil {
                throw BerthError(.conflict, "pod \(name) is being deleted, cannot be assigned to a host")
            }
            if let existing = current.value(at: ["spec", "nodeName"])?.stringValue, !existing.isEmpty {
                throw BerthError(.conflict, "pod \(name) is already assigned to node \"\(existing)\"")
            }
            let revision = Int64(current.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
            var updated = current
            updated.set(.string(node), at: ["spec", "nodeName"])
            var conditions = (current.value(at: ["status", "conditions"])?.arrayValue ?? []).filter { $0["type"]?.stringValue != "PodScheduled" }
            conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": .null,
                               "lastTransitionTime": .string(TableCells.formatTimestamp(clock.now()))])
            updated.set(.array(conditions), at: ["status", "conditions"])
            updated.set(nil, at: ["metadata", "resourceVersion"])
            do {
                _ = try await storage.update(descriptor, updated, expectedRevision: revision)
                return Responses.json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: .created)
            } catch where error.code == .conflict {
                continue
            }
        }
        throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
    }

    /// Deletes the pod with the eviction's delete options. Berth has no PodDisruptionBudgets
    /// yet, so every eviction is allowed.
    func evictPod(_ target: ResourceTarget, _ name: String, _ body: JSONValue) async throws(BerthError) -> Response {
        guard body["kind"]?.stringValue ?? "Eviction" == "Eviction" else {
            throw BerthError(.badRequest, "expected an Eviction, got \(body["kind"]?.stringValue ?? "")")
        }
        let optionsBody = body["deleteOptions"].map(JSONWriter.bytes) ?? []
        let options = try DeleteOptions(body: optionsBody, query: QueryParameters(nil))
        _ = try await delete(target, name, options)
        return Responses.json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: .created)
    }
}
