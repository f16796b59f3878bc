/// `apps/v1` ControllerRevision: one recorded state of a controller's template. The DaemonSet
/// controller keeps one per template it has run (`data` is the strategic merge patch that
/// restores it), and `kubectl rollout history|undo daemonset` read and apply them.
public struct ControllerRevision: Codable, Sendable, Hashable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "ControllerRevision"
    public var metadata: ObjectMeta
    public var data: JSONValue?
    public var revision: Int64?

    public init(metadata: ObjectMeta, data: JSONValue?, revision: Int64) {
        self.metadata = metadata
        self.data = data
        self.revision = revision
    }
}

extension ControllerRevision: APIResource {
    public static func validate(_ object: ControllerRevision, old: ControllerRevision?) -> FieldErrors {
        var errors = FieldErrors()
        if let revision = object.revision, revision < 0 {
            errors.invalid("revision", String(revision), "must be greater than or equal to 0")
        }
        if let old, old.data != object.data { errors.immutable("data") }
        return errors
    }
}
