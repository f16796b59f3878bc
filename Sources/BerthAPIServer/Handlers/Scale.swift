import BerthCore
import BerthStore
import Hummingbird

/// The `scale` subresource (`autoscaling/v1` Scale) of Deployments and ReplicaSets.
extension APIServer {
    func scaleObject(_ object: JSONValue) -> JSONValue {
        var metadata: JSONValue = [:]
        for field in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            if let value = object.value(at: ["metadata", field]) { metadata[field] = value }
        }
        let selector = object.value(at: ["spec", "selector"]).flatMap { try? $0.decode(LabelSelectorSpec.self) }.flatMap { try? LabelSelector($0) }
        return [
            "apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": metadata,
            "spec": ["replicas": object.value(at: ["spec", "replicas"]) ?? 0],
            "status": ["replicas": object.value(at: ["status", "replicas"]) ?? 0, "selector": .string(selector?.description ?? "")],
        ]
    }

    func getScale(_ target: ResourceTarget, _ name: String) async throws(BerthError) -> Response {
        Responses.json(scaleObject(try await storage.get(target.descriptor, namespace: target.namespace, name: name)))
    }

    func updateScale(_ target: ResourceTarget, _ name: String, _ body: JSONValue) async throws(BerthError) -> Response {
        try await writeScale(target, name, precondition: body.value(at: ["metadata", "resourceVersion"])?.stringValue) { _ throws(BerthError) in body }
    }

    func patchScale(_ target: ResourceTarget, _ name: String, _ patch: JSONValue, _ type: PatchType) async throws(BerthError) -> Response {
        try await writeScale(target, name, precondition: nil) { (scale: JSONValue) throws(BerthError) -> JSONValue in
            try Self.applyPatch(patch, type, to: scale)
        }
    }

    private func writeScale(_ target: ResourceTarget, _ name: String, precondition: String?,
                            _ change: (JSONValue) throws(BerthError) -> JSONValue) async throws(BerthError) -> Response {
        let descriptor = target.descriptor
        for _ in 0..<8 {
            let current = try await storage.get(descriptor, namespace: target.namespace, name: name)
            let revision = Int64(current.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
            if let precondition, !precondition.isEmpty, precondition != String(revision) {
                throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
            }
            let scale = try change(scaleObject(current))
            guard let replicas = scale.value(at: ["spec", "replicas"])?.intValue else {
                throw BerthError.invalid(kind: "Scale", name: name, group: "autoscaling", causes: [.required("spec.replicas")])
            }
            if replicas < 0 {
                throw BerthError.invalid(kind: "Scale", name: name, group: "autoscaling", causes: [.invalid("spec.replicas", String(replicas), "must be greater than or equal to 0")])
            }
            var updated = current
            updated.set(.number(String(replicas)), at: ["spec", "replicas"])
            updated.set(nil, at: ["metadata", "resourceVersion"])
            updated = bumpGeneration(descriptor, updated, old: current)
            do {
                let stored = try await storage.update(descriptor, updated, expectedRevision: revision)
                return Responses.json(scaleObject(stored))
            } catch where error.code == .conflict && (precondition ?? "").isEmpty {
                continue
            }
        }
        throw BerthError.conflict(descriptor.plural, name, group: descriptor.group)
    }
}
