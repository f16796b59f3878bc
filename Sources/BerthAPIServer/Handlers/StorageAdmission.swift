import BerthCore
import BerthStore

/// Admission for storage, after Kubernetes' plugins of the same names: `DefaultStorageClass`
/// gives a claim that names no class the default one; `StorageObjectInUseProtection` puts the
/// protection finalizers on claims and volumes (the volume controller takes them off once
/// unused); `PersistentVolumeClaimResize` lets a claim grow only through a class that allows
/// expansion, and only once bound.
extension APIServer {
    static let storageAdmissionPlugins: [AdmissionPlugin] = [
        .mutating("DefaultStorageClass", applies: { $0.kind == "PersistentVolumeClaim" && $0.isCreate }) { server, attempt throws(BerthError) in
            try await server.applyDefaultStorageClass(attempt.object)
        },
        .mutating("StorageObjectInUseProtection", applies: { ($0.kind == "PersistentVolumeClaim" || $0.kind == "PersistentVolume") && $0.isCreate }) {
            _, attempt throws(BerthError) in
            var object = attempt.object
            let finalizer = attempt.kind == "PersistentVolume" ? StorageNames.volumeProtection : StorageNames.claimProtection
            var finalizers = object.value(at: ["metadata", "finalizers"])?.arrayValue ?? []
            if !finalizers.contains(.string(finalizer)) { finalizers.append(.string(finalizer)) }
            object.set(.array(finalizers), at: ["metadata", "finalizers"])
            return object
        },
        .validating("LimitRanger", applies: { $0.kind == "PersistentVolumeClaim" && $0.isMainResource }) { server, attempt throws(BerthError) in
            try await server.checkClaimLimits(attempt.object)
        },
        .validating("PersistentVolumeClaimResize", applies: { $0.kind == "PersistentVolumeClaim" && !$0.isCreate && $0.isMainResource }) {
            server, attempt throws(BerthError) in
            try await server.checkClaimResize(attempt.object, old: attempt.old ?? attempt.object)
        },
    ]

    func applyDefaultStorageClass(_ object: JSONValue) async throws(BerthError) -> JSONValue {
        guard object.value(at: ["spec", "storageClassName"]) == nil || object.value(at: ["spec", "storageClassName"]) == .null else { return object }
        let classes = try await storage.list(.storageClass, namespace: nil, limit: 0, continueAfter: nil).kvs.map { kv throws(BerthError) in try ObjectCodec.decode(kv) }
        // Several defaults: the newest wins, as in Kubernetes since 1.26.
        let defaults = classes.filter { $0.value(at: ["metadata", "annotations", StorageClass.defaultAnnotation])?.stringValue == "true" }
            .sorted { ($0.value(at: ["metadata", "creationTimestamp"])?.stringValue ?? "", $0.value(at: ["metadata", "name"])?.stringValue ?? "")
                < ($1.value(at: ["metadata", "creationTimestamp"])?.stringValue ?? "", $1.value(at: ["metadata", "name"])?.stringValue ?? "") }
        guard let name = defaults.last?.value(at: ["metadata", "name"])?.stringValue else { return object }
        var object = object
        object.set(.string(name), at: ["spec", "storageClassName"])
        return object
    }

    /// LimitRange items of type PersistentVolumeClaim: the claim's storage between `min` and
    /// `max`, refused in Kubernetes' words otherwise.
    func checkClaimLimits(_ object: JSONValue) async throws(BerthError) {
        let namespace = object.value(at: ["metadata", "namespace"])?.stringValue ?? "default"
        let prefix = storage.prefix(.limitRange, namespace: namespace)
        let items = try await admissionList(.limitRange).filter { $0.key.hasPrefix(prefix) }
            .compactMap { try? ObjectCodec.decode($0).decode(LimitRange.self) }.flatMap { $0.spec?.limits ?? [] }.filter { $0.type == "PersistentVolumeClaim" }
        guard !items.isEmpty, let text = object.value(at: ["spec", "resources", "requests", "storage"])?.stringValue,
              let request = try? Quantity(parsing: text) else { return }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        for item in items {
            if let max = item.max?["storage"], request > max {
                throw BerthError(.forbidden, "persistentvolumeclaims \"\(name)\" is forbidden: maximum storage usage per PersistentVolumeClaim is \(max), but request is \(request)")
            }
            if let min = item.min?["storage"], request < min {
                throw BerthError(.forbidden, "persistentvolumeclaims \"\(name)\" is forbidden: minimum storage usage per PersistentVolumeClaim is \(min), but request is \(request)")
            }
        }
    }

    func checkClaimResize(_ object: JSONValue, old: JSONValue) async throws(BerthError) {
        let path = ["spec", "resources", "requests", "storage"]
        guard let newText = object.value(at: path)?.stringValue, let oldText = old.value(at: path)?.stringValue,
              let request = try? Quantity(parsing: newText), let before = try? Quantity(parsing: oldText), request > before else { return }
        let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
        func refuse(_ detail: String) -> BerthError {
            BerthError.invalid(kind: "PersistentVolumeClaim", name: name, causes: [.forbidden("spec.resources.requests.storage", detail)])
        }
        guard old.value(at: ["status", "phase"])?.stringValue == "Bound" else { throw refuse("only bound persistent volume claims can be expanded") }
        let className = object.value(at: ["spec", "storageClassName"])?.stringValue ?? ""
        guard !className.isEmpty, let storageClass = try? await storage.get(.storageClass, namespace: nil, name: className),
              storageClass["allowVolumeExpansion"] == .bool(true) else {
            throw refuse("only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")
        }
    }
}
