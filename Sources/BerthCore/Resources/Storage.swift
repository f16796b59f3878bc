/// `v1` PersistentVolume and PersistentVolumeClaim, `storage.k8s.io/v1` StorageClass. Volume
/// sources Berth mounts (hostPath, local, glusterfs) are typed; the others (nfs, iscsi, csi …)
/// are kept verbatim so they can be accepted and reported as not mountable here.
public struct PersistentVolume: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "PersistentVolume"
    public var metadata: ObjectMeta
    public var spec: PersistentVolumeSpec?
    public var status: PersistentVolumeStatus?

    public init(metadata: ObjectMeta, spec: PersistentVolumeSpec? = nil, status: PersistentVolumeStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

public struct PersistentVolumeSpec: Codable, Sendable, Hashable {
    public var capacity: [String: Quantity]?
    public var accessModes: [String]?
    public var persistentVolumeReclaimPolicy: String?
    public var storageClassName: String?
    public var claimRef: ObjectReference?
    public var nodeAffinity: VolumeNodeAffinity?
    public var volumeMode: String?
    public var mountOptions: [String]?
    public var hostPath: HostPathVolumeSource?
    public var local: LocalVolumeSource?
    public var glusterfs: GlusterfsPersistentVolumeSource?
    public var nfs: JSONValue?
    public var iscsi: JSONValue?
    public var csi: JSONValue?
    public var rbd: JSONValue?
    public var cephfs: JSONValue?
    public var fc: JSONValue?

    public init() {}

    /// The source's name as the API spells it, for messages and the type check.
    public var sourceTypes: [String] {
        [("hostPath", hostPath != nil), ("local", local != nil), ("glusterfs", glusterfs != nil), ("nfs", nfs != nil), ("iscsi", iscsi != nil),
         ("csi", csi != nil), ("rbd", rbd != nil), ("cephfs", cephfs != nil), ("fc", fc != nil)].filter(\.1).map(\.0)
    }

    public var storage: Quantity? { capacity?["storage"] }
}

public struct VolumeNodeAffinity: Codable, Sendable, Hashable {
    public var required: NodeSelector?
    public init(required: NodeSelector?) { self.required = required }
}

public struct LocalVolumeSource: Codable, Sendable, Hashable {
    public var path: String
    public var fsType: String?
    public init(path: String, fsType: String? = nil) {
        self.path = path
        self.fsType = fsType
    }
}

/// A GlusterFS volume: `endpoints` names the servers (an Endpoints object in Kubernetes; Berth
/// also takes `HOST[,HOST…]`), `path` the GlusterFS volume name.
public struct GlusterfsPersistentVolumeSource: Codable, Sendable, Hashable {
    public var endpoints: String
    public var path: String
    public var readOnly: Bool?
    public var endpointsNamespace: String?
    public init(endpoints: String, path: String, readOnly: Bool? = nil, endpointsNamespace: String? = nil) {
        self.endpoints = endpoints
        self.path = path
        self.readOnly = readOnly
        self.endpointsNamespace = endpointsNamespace
    }
}

public struct PersistentVolumeStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var message: String?
    public var reason: String?
    public var lastPhaseTransitionTime: String?
    public init(phase: String? = nil, message: String? = nil, reason: String? = nil) {
        self.phase = phase
        self.message = message
        self.reason = reason
    }
}

public struct PersistentVolumeClaim: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "PersistentVolumeClaim"
    public var metadata: ObjectMeta
    public var spec: PersistentVolumeClaimSpec?
    public var status: PersistentVolumeClaimStatus?

    public init(metadata: ObjectMeta, spec: PersistentVolumeClaimSpec? = nil, status: PersistentVolumeClaimStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The storage the claim asks for.
    public var requestedStorage: Quantity? { spec?.resources?.requests?["storage"] }
}

public struct PersistentVolumeClaimSpec: Codable, Sendable, Hashable {
    public var accessModes: [String]?
    public var resources: VolumeResourceRequirements?
    public var storageClassName: String?
    public var volumeName: String?
    public var volumeMode: String?
    public var selector: LabelSelectorSpec?
    public var dataSource: TypedLocalObjectReference?
    public var dataSourceRef: JSONValue?
    public var volumeAttributesClassName: String?

    public init() {}
}

public struct VolumeResourceRequirements: Codable, Sendable, Hashable {
    public var requests: [String: Quantity]?
    public var limits: [String: Quantity]?
    public init(requests: [String: Quantity]? = nil, limits: [String: Quantity]? = nil) {
        self.requests = requests
        self.limits = limits
    }
}

public struct PersistentVolumeClaimStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var accessModes: [String]?
    public var capacity: [String: Quantity]?
    public var allocatedResources: [String: Quantity]?
    public var conditions: [PersistentVolumeClaimCondition]?
    public init(phase: String? = nil) { self.phase = phase }
}

public struct PersistentVolumeClaimCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
    public var lastProbeTime: String?
    public init(type: String, status: String, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
    }
}

public struct StorageClass: Codable, Sendable, Hashable {
    public var apiVersion: String? = "storage.k8s.io/v1"
    public var kind: String? = "StorageClass"
    public var metadata: ObjectMeta
    public var provisioner: String
    public var parameters: [String: String]?
    public var reclaimPolicy: String?
    public var volumeBindingMode: String?
    public var allowVolumeExpansion: Bool?
    public var mountOptions: [String]?
    public var allowedTopologies: JSONValue?

    public init(metadata: ObjectMeta, provisioner: String) {
        self.metadata = metadata
        self.provisioner = provisioner
    }

    /// Marks the class claims get when they name none.
    public static let defaultAnnotation = "storageclass.kubernetes.io/is-default-class"
    public var isDefault: Bool { metadata.annotations?[Self.defaultAnnotation] == "true" }
    public var waitsForFirstConsumer: Bool { volumeBindingMode == "WaitForFirstConsumer" }
}

/// Names shared by the binder, the provisioners and the agents.
public enum StorageNames {
    public static let localProvisioner = "berth.dev/local"
    public static let glusterProvisioner = "berth.dev/glusterfs"
    /// The class `berth server` creates, default unless another class is marked default.
    public static let defaultClass = "local"
    /// The node a WaitForFirstConsumer claim's volume is made on (set once its pod is scheduled).
    public static let selectedNode = "volume.kubernetes.io/selected-node"
    public static let provisionedBy = "pv.kubernetes.io/provisioned-by"
    public static let boundByController = "pv.kubernetes.io/bind-completed"
    public static let storageProvisioner = "volume.kubernetes.io/storage-provisioner"
    public static let claimProtection = "kubernetes.io/pvc-protection"
    public static let volumeProtection = "kubernetes.io/pv-protection"
    /// Finalizer a provisioner keeps on its volumes until their data is removed (reclaim Delete).
    public static let provisionerCleanup = "berth.dev/volume-cleanup"
    public static let accessModes = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]

    public static func abbreviation(_ mode: String) -> String {
        switch mode {
        case "ReadWriteOnce": "RWO"
        case "ReadOnlyMany": "ROX"
        case "ReadWriteMany": "RWX"
        case "ReadWriteOncePod": "RWOP"
        default: mode
        }
    }
}
