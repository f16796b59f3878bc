/// `snapshot.storage.k8s.io/v1` VolumeSnapshot (namespaced), VolumeSnapshotContent and
/// VolumeSnapshotClass (cluster-scoped), as the external-snapshotter defines them. Berth's
/// drivers are its provisioners' names (`berth.dev/local`, `berth.dev/glusterfs`).
public struct VolumeSnapshot: Codable, Sendable, Hashable {
    public var apiVersion: String? = "snapshot.storage.k8s.io/v1"
    public var kind: String? = "VolumeSnapshot"
    public var metadata: ObjectMeta
    public var spec: VolumeSnapshotSpec?
    public var status: VolumeSnapshotStatus?
}

public struct VolumeSnapshotSpec: Codable, Sendable, Hashable {
    public var source: VolumeSnapshotSource
    public var volumeSnapshotClassName: String?
}

public struct VolumeSnapshotSource: Codable, Sendable, Hashable {
    public var persistentVolumeClaimName: String?
    public var volumeSnapshotContentName: String?
}

public struct VolumeSnapshotStatus: Codable, Sendable, Hashable {
    public var boundVolumeSnapshotContentName: String?
    public var creationTime: String?
    public var readyToUse: Bool?
    public var restoreSize: Quantity?
    public var error: VolumeSnapshotError?
    public init() {}
}

public struct VolumeSnapshotError: Codable, Sendable, Hashable {
    public var time: String?
    public var message: String?
    public init(time: String?, message: String?) {
        self.time = time
        self.message = message
    }
}

public struct VolumeSnapshotContent: Codable, Sendable, Hashable {
    public var apiVersion: String? = "snapshot.storage.k8s.io/v1"
    public var kind: String? = "VolumeSnapshotContent"
    public var metadata: ObjectMeta
    public var spec: VolumeSnapshotContentSpec?
    public var status: VolumeSnapshotContentStatus?

    public init(metadata: ObjectMeta, spec: VolumeSnapshotContentSpec?) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct VolumeSnapshotContentSpec: Codable, Sendable, Hashable {
    public var volumeSnapshotRef: ObjectReference
    public var driver: String
    public var deletionPolicy: String
    public var source: VolumeSnapshotContentSource
    public var volumeSnapshotClassName: String?
    public var sourceVolumeMode: String?

    public init(volumeSnapshotRef: ObjectReference, driver: String, deletionPolicy: String, source: VolumeSnapshotContentSource, volumeSnapshotClassName: String?) {
        self.volumeSnapshotRef = volumeSnapshotRef
        self.driver = driver
        self.deletionPolicy = deletionPolicy
        self.source = source
        self.volumeSnapshotClassName = volumeSnapshotClassName
    }
}

public struct VolumeSnapshotContentSource: Codable, Sendable, Hashable {
    /// The PersistentVolume the snapshot is taken of.
    public var volumeHandle: String?
    /// A snapshot that exists already (`NODE:PATH` for Berth's drivers).
    public var snapshotHandle: String?
    public init(volumeHandle: String?, snapshotHandle: String?) {
        self.volumeHandle = volumeHandle
        self.snapshotHandle = snapshotHandle
    }
}

public struct VolumeSnapshotContentStatus: Codable, Sendable, Hashable {
    public var snapshotHandle: String?
    public var creationTime: Int64?
    public var restoreSize: Int64?
    public var readyToUse: Bool?
    public var error: VolumeSnapshotError?
    public init() {}
}

public struct VolumeSnapshotClass: Codable, Sendable, Hashable {
    public var apiVersion: String? = "snapshot.storage.k8s.io/v1"
    public var kind: String? = "VolumeSnapshotClass"
    public var metadata: ObjectMeta
    public var driver: String
    public var deletionPolicy: String
    public var parameters: [String: String]?

    public init(metadata: ObjectMeta, driver: String, deletionPolicy: String) {
        self.metadata = metadata
        self.driver = driver
        self.deletionPolicy = deletionPolicy
    }

    public static let defaultAnnotation = "snapshot.storage.kubernetes.io/is-default-class"
}

extension VolumeSnapshot: APIResource {
    public static func validate(_ object: VolumeSnapshot, old: VolumeSnapshot?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        let claim = spec.source.persistentVolumeClaimName ?? ""
        let content = spec.source.volumeSnapshotContentName ?? ""
        if claim.isEmpty == content.isEmpty {
            errors.invalid("spec.source", claim + content, "exactly one of persistentVolumeClaimName and volumeSnapshotContentName must be set")
        }
        if let old, old.spec?.source != spec.source { errors.immutable("spec.source") }
        return errors
    }
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { object["spec"] != old["spec"] }
}

extension VolumeSnapshotContent: APIResource {
    public static func validate(_ object: VolumeSnapshotContent, old: VolumeSnapshotContent?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if spec.driver.isEmpty { errors.required("spec.driver") }
        if !["Delete", "Retain"].contains(spec.deletionPolicy) { errors.notSupported("spec.deletionPolicy", spec.deletionPolicy, ["Delete", "Retain"]) }
        if (spec.source.volumeHandle ?? "").isEmpty == (spec.source.snapshotHandle ?? "").isEmpty {
            errors.invalid("spec.source", "", "exactly one of volumeHandle and snapshotHandle must be set")
        }
        if let old, old.spec?.source != spec.source { errors.immutable("spec.source") }
        return errors
    }
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { object["spec"] != old["spec"] }
}

extension VolumeSnapshotClass: APIResource {
    public static func validate(_ object: VolumeSnapshotClass, old: VolumeSnapshotClass?) -> FieldErrors {
        var errors = FieldErrors()
        if object.driver.isEmpty { errors.required("driver") }
        if !["Delete", "Retain"].contains(object.deletionPolicy) { errors.notSupported("deletionPolicy", object.deletionPolicy, ["Delete", "Retain"]) }
        if let old, old.driver != object.driver { errors.immutable("driver") }
        return errors
    }
}

extension ResourceDescriptor {
    public static let volumeSnapshot = ResourceDescriptor(
        VolumeSnapshot.self, group: "snapshot.storage.k8s.io", plural: "volumesnapshots", shortNames: ["vs"], subresources: ["status"],
        columns: [
            TableColumn("ReadyToUse", "boolean", "Indicates if the snapshot is ready to be used to restore a volume."),
            TableColumn("SourcePVC", "If a new snapshot needs to be created, this contains the name of the source PVC from which this snapshot was (or will be) created."),
            TableColumn("SourceSnapshotContent", "If a snapshot already exists, this contains the name of the existing VolumeSnapshotContent object representing the existing snapshot."),
            TableColumn("RestoreSize", "Represents the minimum size of volume required to rehydrate from this snapshot."),
            TableColumn("SnapshotClass", "The name of the VolumeSnapshotClass requested by the VolumeSnapshot."),
            TableColumn("SnapshotContent", "Name of the VolumeSnapshotContent object to which the VolumeSnapshot object intends to bind to."),
            TableColumn("CreationTime", "Timestamp when the point-in-time snapshot was taken by the underlying storage system."), ageColumn,
        ]
    ) { object, now in
        [
            .string(TableCells.string(object, "metadata", "name") ?? ""), object.value(at: ["status", "readyToUse"]) ?? .bool(false),
            .string(TableCells.string(object, "spec", "source", "persistentVolumeClaimName") ?? ""),
            .string(TableCells.string(object, "spec", "source", "volumeSnapshotContentName") ?? ""),
            .string(TableCells.string(object, "status", "restoreSize") ?? ""), .string(TableCells.string(object, "spec", "volumeSnapshotClassName") ?? ""),
            .string(TableCells.string(object, "status", "boundVolumeSnapshotContentName") ?? ""),
            .string(TableCells.string(object, "status", "creationTime") ?? ""), TableCells.age(object, now: now),
        ]
    }

    public static let volumeSnapshotContent = ResourceDescriptor(
        VolumeSnapshotContent.self, group: "snapshot.storage.k8s.io", plural: "volumesnapshotcontents", namespaced: false, shortNames: ["vsc"], subresources: ["status"],
        columns: [
            TableColumn("ReadyToUse", "boolean", "Indicates if the snapshot is ready to be used to restore a volume."),
            TableColumn("RestoreSize", "integer", "Represents the complete size of the snapshot in bytes"),
            TableColumn("DeletionPolicy", "Determines whether this VolumeSnapshotContent and its physical snapshot are deleted when its VolumeSnapshot is deleted."),
            TableColumn("Driver", "Name of the CSI driver used to create the physical snapshot."),
            TableColumn("VolumeSnapshotClass", "Name of the VolumeSnapshotClass to which this snapshot belongs."),
            TableColumn("VolumeSnapshot", "Name of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound."),
            TableColumn("VolumeSnapshotNamespace", "Namespace of the VolumeSnapshot object to which this VolumeSnapshotContent object is bound."), ageColumn,
        ]
    ) { object, now in
        [
            .string(TableCells.string(object, "metadata", "name") ?? ""), object.value(at: ["status", "readyToUse"]) ?? .bool(false),
            object.value(at: ["status", "restoreSize"]) ?? .null, .string(TableCells.string(object, "spec", "deletionPolicy") ?? ""),
            .string(TableCells.string(object, "spec", "driver") ?? ""), .string(TableCells.string(object, "spec", "volumeSnapshotClassName") ?? ""),
            .string(TableCells.string(object, "spec", "volumeSnapshotRef", "name") ?? ""), .string(TableCells.string(object, "spec", "volumeSnapshotRef", "namespace") ?? ""),
            TableCells.age(object, now: now),
        ]
    }

    public static let volumeSnapshotClass = ResourceDescriptor(
        VolumeSnapshotClass.self, group: "snapshot.storage.k8s.io", plural: "volumesnapshotclasses", namespaced: false, shortNames: ["vsclass", "vsclasses"],
        columns: [
            TableColumn("Driver", "The name of the driver that handles snapshots of this class."),
            TableColumn("DeletionPolicy", "Determines whether a VolumeSnapshotContent created through the VolumeSnapshotClass should be deleted when its bound VolumeSnapshot is deleted."),
            ageColumn,
        ]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(object["driver"]?.stringValue ?? ""),
         .string(object["deletionPolicy"]?.stringValue ?? ""), TableCells.age(object, now: now)]
    }
}
