/// `core/v1` Volume: the sources Berth implements are typed; others are kept verbatim.
public struct Volume: Codable, Sendable, Hashable {
    public var name: String
    public var emptyDir: EmptyDirVolumeSource?
    public var hostPath: HostPathVolumeSource?
    public var configMap: ConfigMapVolumeSource?
    public var secret: SecretVolumeSource?
    public var persistentVolumeClaim: PersistentVolumeClaimVolumeSource?
    public var projected: ProjectedVolumeSource?
    public var downwardAPI: DownwardAPIVolumeSource?
    public var ephemeral: JSONValue?
    public var csi: JSONValue?
    public var nfs: JSONValue?
    public var image: JSONValue?

    public init(name: String) { self.name = name }
}

public struct EmptyDirVolumeSource: Codable, Sendable, Hashable {
    public var medium: String?
    public var sizeLimit: Quantity?
}

public struct HostPathVolumeSource: Codable, Sendable, Hashable {
    public var path: String
    public var type: String?
}

public struct KeyToPath: Codable, Sendable, Hashable {
    public var key: String
    public var path: String
    public var mode: Int32?
}

public struct ConfigMapVolumeSource: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
}

public struct SecretVolumeSource: Codable, Sendable, Hashable {
    public var secretName: String?
    public var items: [KeyToPath]?
    public var defaultMode: Int32?
    public var optional: Bool?
}

public struct PersistentVolumeClaimVolumeSource: Codable, Sendable, Hashable {
    public var claimName: String
    public var readOnly: Bool?
    public init(claimName: String, readOnly: Bool? = nil) {
        self.claimName = claimName
        self.readOnly = readOnly
    }
}

public struct ProjectedVolumeSource: Codable, Sendable, Hashable {
    public var sources: [VolumeProjection]?
    public var defaultMode: Int32?
}

/// One source of a projected volume; exactly one field is set.
public struct VolumeProjection: Codable, Sendable, Hashable {
    public var configMap: ConfigMapProjection?
    public var secret: SecretProjection?
    public var downwardAPI: DownwardAPIProjection?
    public var serviceAccountToken: ServiceAccountTokenProjection?
    public var clusterTrustBundle: JSONValue?
    public var podCertificate: JSONValue?
}

public struct ConfigMapProjection: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?
}

public struct SecretProjection: Codable, Sendable, Hashable {
    public var name: String?
    public var items: [KeyToPath]?
    public var optional: Bool?
}

public struct DownwardAPIProjection: Codable, Sendable, Hashable {
    public var items: [DownwardAPIVolumeFile]?
}

public struct DownwardAPIVolumeSource: Codable, Sendable, Hashable {
    public var items: [DownwardAPIVolumeFile]?
    public var defaultMode: Int32?
}

public struct DownwardAPIVolumeFile: Codable, Sendable, Hashable {
    public var path: String
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var mode: Int32?
}

/// A token for the pod's ServiceAccount, bound to the pod, written at `path` and refreshed by
/// the node agent before it expires.
public struct ServiceAccountTokenProjection: Codable, Sendable, Hashable {
    public var audience: String?
    public var expirationSeconds: Int64?
    public var path: String

    public init(audience: String? = nil, expirationSeconds: Int64? = nil, path: String) {
        self.audience = audience
        self.expirationSeconds = expirationSeconds
        self.path = path
    }
}
