import Foundation

extension PersistentVolume: APIResource {
    public static func applyDefaults(_ object: inout PersistentVolume) {
        guard var spec = object.spec else { return }
        if spec.persistentVolumeReclaimPolicy == nil { spec.persistentVolumeReclaimPolicy = "Retain" }
        if spec.volumeMode == nil { spec.volumeMode = "Filesystem" }
        object.spec = spec
        if object.status?.phase == nil { object.status = PersistentVolumeStatus(phase: "Pending") }
    }

    public static func validate(_ object: PersistentVolume, old: PersistentVolume?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        StorageValidation.volume(spec, into: &errors)
        if let oldSpec = old?.spec { StorageValidation.volumeUpdate(spec, old: oldSpec, into: &errors) }
        return errors
    }

    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { object["spec"] != old["spec"] }
}

extension PersistentVolumeClaim: APIResource {
    public static func applyDefaults(_ object: inout PersistentVolumeClaim) {
        guard var spec = object.spec else { return }
        if spec.volumeMode == nil { spec.volumeMode = "Filesystem" }
        object.spec = spec
        if object.status?.phase == nil { object.status = PersistentVolumeClaimStatus(phase: "Pending") }
    }

    public static func validate(_ object: PersistentVolumeClaim, old: PersistentVolumeClaim?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        StorageValidation.claim(spec, path: "spec", into: &errors)
        if let old { StorageValidation.claimUpdate(object, old: old, into: &errors) }
        return errors
    }

    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { object["spec"] != old["spec"] }
}

extension StorageClass: APIResource {
    public static func applyDefaults(_ object: inout StorageClass) {
        if object.reclaimPolicy == nil { object.reclaimPolicy = "Delete" }
        if object.volumeBindingMode == nil { object.volumeBindingMode = "Immediate" }
    }

    public static func validate(_ object: StorageClass, old: StorageClass?) -> FieldErrors {
        var errors = FieldErrors()
        StorageValidation.storageClass(object, into: &errors)
        if let old {
            if old.provisioner != object.provisioner { errors.immutable("provisioner") }
            if old.parameters != object.parameters { errors.immutable("parameters") }
            if old.reclaimPolicy != object.reclaimPolicy { errors.immutable("reclaimPolicy") }
            if old.volumeBindingMode != object.volumeBindingMode { errors.immutable("volumeBindingMode") }
        }
        return errors
    }
}

extension ResourceDescriptor {
    public static let persistentVolume = ResourceDescriptor(
        PersistentVolume.self, plural: "persistentvolumes", namespaced: false, shortNames: ["pv"], subresources: ["status"],
        fieldSelectors: ["status.phase", "spec.storageClassName"],
        columns: [
            TableColumn("Capacity", "Capacity is the total amount of storage the volume provides."),
            TableColumn("Access Modes", "AccessModes contains all ways the volume can be mounted."),
            TableColumn("Reclaim Policy", "What happens to a persistent volume when released from its claim."),
            TableColumn("Status", "Phase indicates if a volume is available, bound to a claim, or released by a claim."),
            TableColumn("Claim", "ClaimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
            TableColumn("StorageClass", "StorageClassName is the name of StorageClass to which this persistent volume belongs."),
            TableColumn("VolumeAttributesClass", "Name of VolumeAttributesClass to which this persistent volume belongs."),
            TableColumn("Reason", "Reason is a brief CamelCase string that describes any failure."), ageColumn,
            TableColumn("VolumeMode", priority: 1, "Whether the volume is a filesystem or a raw block device."),
        ]
    ) { object, now in
        let claimRef = object.value(at: ["spec", "claimRef"])
        let claim = claimRef.map { "\($0["namespace"]?.stringValue ?? "")/\($0["name"]?.stringValue ?? "")" } ?? ""
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "capacity", "storage") ?? ""),
            .string(TableCells.accessModes(object.value(at: ["spec", "accessModes"]))),
            .string(TableCells.string(object, "spec", "persistentVolumeReclaimPolicy") ?? ""), .string(TableCells.string(object, "status", "phase") ?? ""),
            .string(claim), .string(TableCells.string(object, "spec", "storageClassName") ?? ""),
            .string(TableCells.string(object, "spec", "volumeAttributesClassName") ?? "<unset>"),
            .string(TableCells.string(object, "status", "reason") ?? ""), TableCells.age(object, now: now),
            .string(TableCells.string(object, "spec", "volumeMode") ?? "Filesystem"),
        ]
    }

    public static let persistentVolumeClaim = ResourceDescriptor(
        PersistentVolumeClaim.self, plural: "persistentvolumeclaims", shortNames: ["pvc"], subresources: ["status"],
        fieldSelectors: ["status.phase", "spec.storageClassName", "spec.volumeName"],
        columns: [
            TableColumn("Status", "Phase represents the current phase of PersistentVolumeClaim."),
            TableColumn("Volume", "VolumeName is the binding reference to the PersistentVolume backing this claim."),
            TableColumn("Capacity", "Capacity represents the actual resources of the underlying volume."),
            TableColumn("Access Modes", "AccessModes contains all ways the volume backing the PVC can be mounted."),
            TableColumn("StorageClass", "StorageClassName is the name of the StorageClass required by the claim."),
            TableColumn("VolumeAttributesClass", "The VolumeAttributesClass used by this claim."), ageColumn,
            TableColumn("VolumeMode", priority: 1, "Whether the volume is a filesystem or a raw block device."),
        ]
    ) { object, now in
        [
            .string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "status", "phase") ?? ""),
            .string(TableCells.string(object, "spec", "volumeName") ?? ""), .string(TableCells.string(object, "status", "capacity", "storage") ?? ""),
            .string(TableCells.accessModes(object.value(at: ["status", "accessModes"]))),
            .string(TableCells.string(object, "spec", "storageClassName") ?? ""),
            .string(TableCells.string(object, "spec", "volumeAttributesClassName") ?? "<unset>"), TableCells.age(object, now: now),
            .string(TableCells.string(object, "spec", "volumeMode") ?? "Filesystem"),
        ]
    }

    public static let storageClass = ResourceDescriptor(
        StorageClass.self, group: "storage.k8s.io", plural: "storageclasses", namespaced: false, shortNames: ["sc"],
        columns: [
            TableColumn("Provisioner", "Indicates the type of the provisioner."),
            TableColumn("ReclaimPolicy", "Indicates the type of the reclaim policy."),
            TableColumn("VolumeBindingMode", "Indicates how PersistentVolumeClaims should be provisioned and bound."),
            TableColumn("AllowVolumeExpansion", "boolean", "Indicates whether the storage class allows volume expand."), ageColumn,
        ]
    ) { object, now in
        let name = TableCells.string(object, "metadata", "name") ?? ""
        let isDefault = object.value(at: ["metadata", "annotations", StorageClass.defaultAnnotation])?.stringValue == "true"
        return [
            .string(isDefault ? "\(name) (default)" : name), .string(object["provisioner"]?.stringValue ?? ""),
            .string(object["reclaimPolicy"]?.stringValue ?? "Delete"), .string(object["volumeBindingMode"]?.stringValue ?? "Immediate"),
            .bool(object["allowVolumeExpansion"] == .bool(true)), TableCells.age(object, now: now),
        ]
    }
}

extension TableCells {
    /// `RWO,RWX`: how kubectl prints access modes.
    static func accessModes(_ modes: JSONValue?) -> String {
        (modes?.arrayValue ?? []).compactMap(\.stringValue).map(StorageNames.abbreviation).joined(separator: ",")
    }
}
