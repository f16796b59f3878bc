import BerthCore
import BerthImages

/// A pushed manifest, read for what the registry must know: its media type, the blobs
/// (config, layers) and manifests (an index's entries) it refers to, and the `subject` it is a
/// referrer of (OCI 1.1: signatures, SBOMs, any artifact). Docker schema 1 is refused.
public struct ManifestDocument: Sendable, Equatable {
    public var mediaType: String
    public var blobs: [Descriptor]
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    /// What a referrers list shows: `artifactType`, else the config's media type (OCI 1.1).
    public var artifactType: String?
    public var annotations: [String: String]?

    public static let maximumBytes = 4 << 20
    static let supported: Set<String> = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList]

    /// Parses `bytes` sent with `contentType` (the body's own `mediaType` must agree with it).
    public init(bytes: [UInt8], contentType: String?) throws(BerthError) {
        guard bytes.count <= Self.maximumBytes else { throw .oci(.sizeInvalid, "manifest is \(bytes.count) bytes; the limit is \(Self.maximumBytes)", status: .requestEntityTooLarge) }
        guard let document = try? JSONParser.parse(bytes), case .object = document else {
            throw .oci(.manifestInvalid, "manifest is not a JSON object")
        }
        let declared = contentType?.split(separator: ";").first.map { String($0).trimmingCharacters(in: .whitespaces) }
        let inner = document["mediaType"]?.stringValue
        if let declared, let inner, declared != inner, declared != "application/json" {
            throw .oci(.manifestInvalid, "manifest mediaType \(inner) does not match its Content-Type \(declared)")
        }
        var type = inner ?? declared ?? ""
        if type.isEmpty || type == "application/json" {
            type = document["manifests"] != nil ? MediaType.ociIndex : MediaType.ociManifest
        }
        guard document["schemaVersion"]?.intValue == 2 else {
            throw .oci(.manifestInvalid, "manifest schemaVersion must be 2 (Docker schema 1 is not supported)")
        }
        guard Self.supported.contains(type) else { throw .oci(.manifestInvalid, "unsupported manifest media type \(type)") }
        mediaType = type
        func descriptor(_ value: JSONValue, _ field: String) throws(BerthError) -> Descriptor {
            guard let media = value["mediaType"]?.stringValue, let digestText = value["digest"]?.stringValue,
                  let size = value["size"]?.intValue, size >= 0 else {
                throw .oci(.manifestInvalid, "\(field): a descriptor needs mediaType, digest and size")
            }
            let digest: Digest
            do { digest = try Digest(parsing: digestText) } catch { throw .oci(.manifestInvalid, "\(field): \(error.message)") }
            return Descriptor(mediaType: media, digest: digest, size: Int64(size))
        }
        blobs = []
        manifests = []
        if MediaType.isIndex(type) {
            guard let entries = document["manifests"]?.arrayValue else { throw .oci(.manifestInvalid, "an index needs manifests") }
            for (index, entry) in entries.enumerated() { manifests.append(try descriptor(entry, "manifests[\(index)]")) }
        } else {
            guard let config = document["config"] else { throw .oci(.manifestInvalid, "a manifest needs config") }
            blobs.append(try descriptor(config, "config"))
            for (index, layer) in (document["layers"]?.arrayValue ?? []).enumerated() { blobs.append(try descriptor(layer, "layers[\(index)]")) }
        }
        subject = try document["subject"].map { (value) throws(BerthError) in try descriptor(value, "subject") }
        artifactType = document["artifactType"]?.stringValue ?? (MediaType.isIndex(type) ? nil : blobs.first?.mediaType)
        if let values = document["annotations"]?.objectValue {
            var annotations: [String: String] = [:]
            for (key, value) in values { if let text = value.stringValue { annotations[key] = text } }
            self.annotations = annotations
        }
    }
}
