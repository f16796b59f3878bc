/// `core/v1` Namespace, ConfigMap and Secret.
public struct Namespace: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Namespace"
    public var metadata: ObjectMeta
    public var spec: NamespaceSpec?
    public var status: NamespaceStatus?

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

public struct NamespaceSpec: Codable, Sendable, Hashable {
    public var finalizers: [String]?
}

public struct NamespaceStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var conditions: [JSONValue]?
}

public struct ConfigMap: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "ConfigMap"
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: String]?
    public var immutable: Bool?
}

public struct Secret: Codable, Sendable, Hashable {
    public var apiVersion: String? = "v1"
    public var kind: String? = "Secret"
    public var metadata: ObjectMeta
    /// Base64 values, as on the wire.
    public var data: [String: String]?
    /// Write-only plain values, folded into `data` on write as Kubernetes does.
    public var stringData: [String: String]?
    public var type: String?
    public var immutable: Bool?
}
