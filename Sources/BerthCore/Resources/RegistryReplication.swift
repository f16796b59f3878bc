import Foundation

/// `berth.dev/v1` RegistryReplication (cluster-scoped): keeps repositories of the built-in
/// registry and another registry speaking the distribution API in step. `push` copies local
/// images out, `pull` brings remote ones in (and, with `pullThrough`, fetches on a local pull's
/// miss: an edge cache). Triggered on push and on a cron schedule; incremental (only missing
/// blobs cross); a central registry replicating to one per site is the two-level layout.
public struct RegistryReplication: Codable, Sendable, Hashable {
    public var apiVersion: String? = "berth.dev/v1"
    public var kind: String? = "RegistryReplication"
    public var metadata: ObjectMeta
    public var spec: RegistryReplicationSpec
    public var status: RegistryReplicationStatus?

    public init(metadata: ObjectMeta, spec: RegistryReplicationSpec) {
        self.metadata = metadata
        self.spec = spec
    }

    public static let modes = ["push", "pull"]
}

public struct RegistryReplicationSpec: Codable, Sendable, Hashable {
    public var mode: String
    public var remote: RegistryRemote
    /// Repository patterns (`team-a/*`); `*` matches any characters, `/` included. None: all.
    public var repositories: [String]?
    /// Tag patterns (`v*`). None: all.
    public var tags: [String]?
    public var trigger: RegistryReplicationTrigger?
    /// Pull mode only: a local pull of a matching repository that misses fetches from the remote.
    public var pullThrough: Bool?
}

public struct RegistryRemote: Codable, Sendable, Hashable {
    public var url: String
    /// A Secret with `username` and `password` (or `token`), and optionally `ca.crt`.
    public var secretRef: RegistrySecretReference?
    public var insecureSkipTLSVerify: Bool?
}

public struct RegistrySecretReference: Codable, Sendable, Hashable {
    public var name: String
    /// Default: `berth-system`.
    public var namespace: String?
}

public struct RegistryReplicationTrigger: Codable, Sendable, Hashable {
    public var onPush: Bool?
    public var schedule: String?
}

public struct RegistryReplicationStatus: Codable, Sendable, Hashable {
    public var lastRun: String?
    public var lastSuccess: String?
    public var lastError: String?
    /// Images (tags) copied since the replication was made, and their bytes.
    public var images: Int64?
    public var bytes: Int64?
    /// Seconds from a push to its copy on the other side, for the last copy made on push.
    public var lagSeconds: Double?

    public init() {}
}

extension RegistryReplication: APIResource {
    public static func validate(_ object: RegistryReplication, old: RegistryReplication?) -> FieldErrors {
        var errors = FieldErrors()
        let spec = object.spec
        if !modes.contains(spec.mode) { errors.notSupported("spec.mode", spec.mode, modes) }
        let url = URL(string: spec.remote.url)
        let validURL = url?.host != nil && ["http", "https"].contains(url?.scheme ?? "") && ["", "/"].contains(url?.path ?? "x")
        if !validURL {
            errors.invalid("spec.remote.url", spec.remote.url, "must be https://HOST[:PORT] (or http:// for a registry without TLS)")
        }
        if let secret = spec.remote.secretRef, secret.name.isEmpty { errors.required("spec.remote.secretRef.name") }
        for (field, patterns) in [("spec.repositories", spec.repositories ?? []), ("spec.tags", spec.tags ?? [])] {
            for (index, pattern) in patterns.enumerated() where pattern.isEmpty || pattern.count > 255 {
                errors.invalid("\(field)[\(index)]", pattern, "must be a non-empty pattern of at most 255 characters")
            }
        }
        if let schedule = spec.trigger?.schedule {
            do { _ = try CronSchedule(schedule) } catch { errors.invalid("spec.trigger.schedule", schedule, error.message) }
        }
        if spec.pullThrough == true, spec.mode != "pull" { errors.invalid("spec.pullThrough", "true", "only a pull replication can serve pulls through") }
        return errors
    }
}

extension ResourceDescriptor {
    public static let registryReplication = ResourceDescriptor(
        RegistryReplication.self, group: "berth.dev", plural: "registryreplications", namespaced: false, subresources: ["status"], tracksGeneration: true,
        columns: [
            TableColumn("Mode", "push or pull."),
            TableColumn("Remote", "The other registry."),
            TableColumn("Last-Success", "When the last run finished without error."),
            TableColumn("Images", "Images copied."),
            ageColumn,
            TableColumn("Error", priority: 1, "The last run's error."),
        ]
    ) { object, now in
        [.string(TableCells.string(object, "metadata", "name") ?? ""), .string(TableCells.string(object, "spec", "mode") ?? ""),
         .string(TableCells.string(object, "spec", "remote", "url") ?? ""), .string(TableCells.string(object, "status", "lastSuccess") ?? "<none>"),
         .string(object.value(at: ["status", "images"])?.intValue.map(String.init) ?? "0"), TableCells.age(object, now: now),
         .string(TableCells.string(object, "status", "lastError") ?? "")]
    }
}
