import Foundation

/// `batch/v1` CronJob: a Job made from `jobTemplate` at each time `schedule` names.
public struct CronJob: Codable, Sendable, Hashable {
    public var apiVersion: String? = "batch/v1"
    public var kind: String? = "CronJob"
    public var metadata: ObjectMeta
    public var spec: CronJobSpec?
    public var status: CronJobStatus?

    public init(metadata: ObjectMeta, spec: CronJobSpec?) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct CronJobSpec: Codable, Sendable, Hashable {
    public var schedule: String
    /// An IANA zone name; UTC when unset.
    public var timeZone: String?
    /// A run that could not start within this many seconds of its time is skipped.
    public var startingDeadlineSeconds: Int64?
    /// `Allow` (default), `Forbid` (skip while a run is active) or `Replace` (stop it).
    public var concurrencyPolicy: String?
    public var suspend: Bool?
    public var jobTemplate: JobTemplateSpec
    public var successfulJobsHistoryLimit: Int32?
    public var failedJobsHistoryLimit: Int32?

    public init(schedule: String, jobTemplate: JobTemplateSpec) {
        self.schedule = schedule
        self.jobTemplate = jobTemplate
    }
}

public struct JobTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: JobSpec?

    public init(metadata: ObjectMeta? = nil, spec: JobSpec?) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct CronJobStatus: Codable, Sendable, Hashable {
    public var active: [ObjectReference]?
    public var lastScheduleTime: String?
    public var lastSuccessfulTime: String?

    public init() {}
}

extension CronJob: APIResource {
    public static let scheduledTimestampAnnotation = "batch.kubernetes.io/cronjob-scheduled-timestamp"
    public static let concurrencyPolicies = ["Allow", "Forbid", "Replace"]

    public static func applyDefaults(_ object: inout CronJob) {
        guard var spec = object.spec else { return }
        if spec.concurrencyPolicy == nil { spec.concurrencyPolicy = "Allow" }
        if spec.suspend == nil { spec.suspend = false }
        if spec.successfulJobsHistoryLimit == nil { spec.successfulJobsHistoryLimit = 3 }
        if spec.failedJobsHistoryLimit == nil { spec.failedJobsHistoryLimit = 1 }
        if var podSpec = spec.jobTemplate.spec?.template.spec {
            Defaults.podSpec(&podSpec)
            spec.jobTemplate.spec?.template.spec = podSpec
        }
        object.spec = spec
    }

    public static func validate(_ object: CronJob, old: CronJob?) -> FieldErrors {
        var errors = FieldErrors()
        // Job names are the CronJob's name plus an 11-character suffix.
        if let name = object.metadata.name, name.count > 52 {
            errors.invalid("metadata.name", name, "must be no more than 52 characters")
        }
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        if spec.schedule.isEmpty {
            errors.required("spec.schedule")
        } else {
            do throws(BerthError) {
                _ = try CronSchedule(spec.schedule)
            } catch {
                errors.invalid("spec.schedule", spec.schedule, error.message)
            }
        }
        if let zone = spec.timeZone, zone.isEmpty || zone.contains(" ") || TimeZone(identifier: zone) == nil {
            errors.invalid("spec.timeZone", zone, "unknown time zone \(zone)")
        }
        if let policy = spec.concurrencyPolicy, !concurrencyPolicies.contains(policy) {
            errors.notSupported("spec.concurrencyPolicy", policy, concurrencyPolicies)
        }
        for (field, value) in [("spec.successfulJobsHistoryLimit", spec.successfulJobsHistoryLimit), ("spec.failedJobsHistoryLimit", spec.failedJobsHistoryLimit)] {
            if let value, value < 0 { errors.invalid(field, String(value), "must be greater than or equal to 0") }
        }
        if let deadline = spec.startingDeadlineSeconds, deadline < 0 {
            errors.invalid("spec.startingDeadlineSeconds", String(deadline), "must be greater than or equal to 0")
        }
        if let jobSpec = spec.jobTemplate.spec {
            Job.validateSpec(jobSpec, path: "spec.jobTemplate.spec", requireSelector: false, into: &errors)
        } else {
            errors.required("spec.jobTemplate.spec")
        }
        return errors
    }

    /// The zone's offset from UTC at a moment, in seconds (0 for UTC or no zone).
    public static func offset(zone: String?) -> @Sendable (Date) -> Int {
        guard let zone, zone != "UTC", zone != "Etc/UTC", let timeZone = TimeZone(identifier: zone) else { return { _ in 0 } }
        return { timeZone.secondsFromGMT(for: $0) }
    }
}
