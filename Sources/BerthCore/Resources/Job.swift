/// `batch/v1` Job: pods that run to completion. `completions` pods must succeed (`Indexed`:
/// one per index 0 … completions-1), at most `parallelism` at a time; more than `backoffLimit`
/// failures or running past `activeDeadlineSeconds` fails the Job.
public struct Job: Codable, Sendable, Hashable {
    public var apiVersion: String? = "batch/v1"
    public var kind: String? = "Job"
    public var metadata: ObjectMeta
    public var spec: JobSpec?
    public var status: JobStatus?

    public init(metadata: ObjectMeta, spec: JobSpec?) {
        self.metadata = metadata
        self.spec = spec
    }
}

public struct JobSpec: Codable, Sendable, Hashable {
    public var parallelism: Int32?
    public var completions: Int32?
    public var activeDeadlineSeconds: Int64?
    public var backoffLimit: Int32?
    public var selector: LabelSelectorSpec?
    public var manualSelector: Bool?
    public var template: PodTemplateSpec
    public var ttlSecondsAfterFinished: Int32?
    /// `NonIndexed` (default) or `Indexed`.
    public var completionMode: String?
    public var suspend: Bool?
    /// `TerminatingOrFailed` (default): a replacement starts once a pod is terminating.
    public var podReplacementPolicy: String?
    /// Rules on a failed pod's exit codes or conditions: fail the Job at once, ignore the
    /// failure, or count it toward `backoffLimit` (the default).
    public var podFailurePolicy: PodFailurePolicy?

    public init(template: PodTemplateSpec) { self.template = template }
}

public struct PodFailurePolicy: Codable, Sendable, Hashable {
    public var rules: [PodFailurePolicyRule]

    public init(rules: [PodFailurePolicyRule]) { self.rules = rules }
}

public struct PodFailurePolicyRule: Codable, Sendable, Hashable {
    /// `FailJob`, `Ignore` or `Count`.
    public var action: String
    public var onExitCodes: PodFailurePolicyOnExitCodes?
    public var onPodConditions: [PodFailurePolicyOnPodCondition]?

    public init(action: String, onExitCodes: PodFailurePolicyOnExitCodes? = nil, onPodConditions: [PodFailurePolicyOnPodCondition]? = nil) {
        self.action = action
        self.onExitCodes = onExitCodes
        self.onPodConditions = onPodConditions
    }
}

public struct PodFailurePolicyOnExitCodes: Codable, Sendable, Hashable {
    public var containerName: String?
    /// `In` or `NotIn`.
    public var `operator`: String
    public var values: [Int32]

    public init(containerName: String? = nil, operator: String, values: [Int32]) {
        self.containerName = containerName
        self.operator = `operator`
        self.values = values
    }
}

public struct PodFailurePolicyOnPodCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String?

    public init(type: String, status: String? = nil) {
        self.type = type
        self.status = status
    }
}

public struct JobStatus: Codable, Sendable, Hashable {
    public var conditions: [JobCondition]?
    public var startTime: String?
    public var completionTime: String?
    public var active: Int32?
    public var succeeded: Int32?
    public var failed: Int32?
    public var ready: Int32?
    public var terminating: Int32?
    /// Indexed jobs: the succeeded indexes as ranges, `1,3-5`.
    public var completedIndexes: String?
    /// Finished pods counted in no total yet: they keep the tracking finalizer until the counts
    /// that include them are stored, so a pod deleted meanwhile is never lost from the totals.
    public var uncountedTerminatedPods: UncountedTerminatedPods?

    public init() {}
}

public struct UncountedTerminatedPods: Codable, Sendable, Hashable {
    public var succeeded: [String]?
    public var failed: [String]?

    public init(succeeded: [String]? = nil, failed: [String]? = nil) {
        self.succeeded = succeeded
        self.failed = failed
    }
}

public struct JobCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastProbeTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, reason: String?, message: String?, at time: String) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        lastProbeTime = time
        lastTransitionTime = time
    }
}

extension Job: APIResource {
    public static let controllerUIDLabel = "batch.kubernetes.io/controller-uid"
    public static let jobNameLabel = "batch.kubernetes.io/job-name"
    public static let completionIndexAnnotation = "batch.kubernetes.io/job-completion-index"
    /// Held by every pod the controller creates until its outcome is counted.
    public static let trackingFinalizer = "batch.kubernetes.io/job-tracking"
    public static let completionModes = ["Indexed", "NonIndexed"]

    public static func applyDefaults(_ object: inout Job) {
        guard var spec = object.spec else { return }
        if spec.completions == nil && spec.parallelism == nil {
            spec.completions = 1
            spec.parallelism = 1
        }
        if spec.parallelism == nil { spec.parallelism = 1 }
        if spec.backoffLimit == nil { spec.backoffLimit = 6 }
        if spec.completionMode == nil { spec.completionMode = "NonIndexed" }
        if spec.suspend == nil { spec.suspend = false }
        if spec.manualSelector == nil { spec.manualSelector = false }
        if spec.podReplacementPolicy == nil { spec.podReplacementPolicy = "TerminatingOrFailed" }
        // As Kubernetes does on create: the selector is the Job's own UID, and its pods carry it.
        if spec.selector == nil, spec.manualSelector != true, let uid = object.metadata.uid {
            spec.selector = LabelSelectorSpec(matchLabels: [controllerUIDLabel: uid])
            var template = spec.template.metadata ?? ObjectMeta()
            var labels = template.labels ?? [:]
            labels[controllerUIDLabel] = uid
            labels["controller-uid"] = uid
            if let name = object.metadata.name {
                labels[jobNameLabel] = name
                labels["job-name"] = name
            }
            template.labels = labels
            spec.template.metadata = template
        }
        if var podSpec = spec.template.spec {
            Defaults.podSpec(&podSpec)
            spec.template.spec = podSpec
        }
        object.spec = spec
    }

    public static func validate(_ object: Job, old: Job?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        validateSpec(spec, path: "spec", requireSelector: true, into: &errors)
        if let old, let oldSpec = old.spec {
            if oldSpec.selector != spec.selector { errors.immutable("spec.selector") }
            if oldSpec.template != spec.template { errors.immutable("spec.template") }
            if oldSpec.completions != spec.completions { errors.immutable("spec.completions") }
            if oldSpec.completionMode != spec.completionMode { errors.immutable("spec.completionMode") }
        }
        return errors
    }

    /// A Job's spec, or a CronJob's job template (whose selector comes when the Job is made).
    static func validateSpec(_ spec: JobSpec, path: String, requireSelector: Bool, into errors: inout FieldErrors) {
        if let selector = spec.selector {
            KindValidation.workload(selector: selector, template: spec.template, replicas: nil, path: path, into: &errors)
        } else if requireSelector {
            errors.required("\(path).selector")
        } else if let podSpec = spec.template.spec {
            PodValidation.validate(podSpec, path: "\(path).template.spec", into: &errors)
        } else {
            errors.required("\(path).template.spec")
        }
        if let policy = spec.template.spec?.restartPolicy, policy != "OnFailure", policy != "Never" {
            errors.notSupported("\(path).template.spec.restartPolicy", policy, ["OnFailure", "Never"])
        }
        for (field, value) in [("parallelism", spec.parallelism), ("completions", spec.completions), ("backoffLimit", spec.backoffLimit),
                               ("ttlSecondsAfterFinished", spec.ttlSecondsAfterFinished)] {
            if let value, value < 0 { errors.invalid("\(path).\(field)", String(value), "must be greater than or equal to 0") }
        }
        if let deadline = spec.activeDeadlineSeconds, deadline <= 0 {
            errors.invalid("\(path).activeDeadlineSeconds", String(deadline), "must be greater than 0")
        }
        if let mode = spec.completionMode, !completionModes.contains(mode) {
            errors.notSupported("\(path).completionMode", mode, ["NonIndexed", "Indexed"])
        }
        if spec.completionMode == "Indexed" && spec.completions == nil {
            errors.required("\(path).completions")
        }
        if let policy = spec.podReplacementPolicy, policy != "TerminatingOrFailed", policy != "Failed" {
            errors.notSupported("\(path).podReplacementPolicy", policy, ["Failed", "TerminatingOrFailed"])
        }
        if let failurePolicy = spec.podFailurePolicy { validate(failurePolicy, spec: spec, path: "\(path).podFailurePolicy", into: &errors) }
    }

    static func validate(_ policy: PodFailurePolicy, spec: JobSpec, path: String, into errors: inout FieldErrors) {
        if let restart = spec.template.spec?.restartPolicy, restart != "Never" {
            errors.invalid("\(path)", restart, "only \"Never\" is supported when podFailurePolicy is specified")
        }
        if policy.rules.count > 20 { errors.invalid("\(path).rules", String(policy.rules.count), "must have at most 20 items") }
        let containers = Set((spec.template.spec?.containers ?? []).map(\.name) + (spec.template.spec?.initContainers ?? []).map(\.name))
        for (index, rule) in policy.rules.enumerated() {
            let rulePath = "\(path).rules[\(index)]"
            if !["FailJob", "Ignore", "Count"].contains(rule.action) {
                errors.notSupported("\(rulePath).action", rule.action, ["Count", "FailJob", "Ignore"])
            }
            switch (rule.onExitCodes, rule.onPodConditions) {
            case (.some, .some), (.none, .none):
                errors.invalid(rulePath, "", "specifying one of onExitCodes and onPodConditions is required")
            case (.some(let codes), .none):
                if codes.operator != "In" && codes.operator != "NotIn" {
                    errors.notSupported("\(rulePath).onExitCodes.operator", codes.operator, ["In", "NotIn"])
                }
                if codes.values.isEmpty || codes.values.count > 255 {
                    errors.invalid("\(rulePath).onExitCodes.values", String(codes.values.count), "must have between 1 and 255 items")
                }
                if codes.operator == "In", codes.values.contains(0) {
                    errors.invalid("\(rulePath).onExitCodes.values", "0", "must not be 0 for the In operator")
                }
                if Set(codes.values).count != codes.values.count || codes.values != codes.values.sorted() {
                    errors.invalid("\(rulePath).onExitCodes.values", codes.values.map(String.init).joined(separator: ","), "must be ordered and without duplicates")
                }
                if let name = codes.containerName, !containers.contains(name) {
                    errors.invalid("\(rulePath).onExitCodes.containerName", name, "must be one of the container or initContainer names in the pod template")
                }
            case (.none, .some(let conditions)):
                if conditions.isEmpty { errors.required("\(rulePath).onPodConditions") }
                for (position, condition) in conditions.enumerated() {
                    if let status = condition.status, !["True", "False", "Unknown"].contains(status) {
                        errors.notSupported("\(rulePath).onPodConditions[\(position)].status", status, ["False", "True", "Unknown"])
                    }
                }
            }
        }
    }

    /// The first rule a failed pod matches (its index and the rule), if any.
    public static func matchingRule(_ policy: PodFailurePolicy?, _ pod: Pod) -> (index: Int, rule: PodFailurePolicyRule, detail: String)? {
        guard let policy else { return nil }
        for (index, rule) in policy.rules.enumerated() {
            if let codes = rule.onExitCodes {
                let statuses = (pod.status?.containerStatuses ?? []) + (pod.status?.initContainerStatuses ?? [])
                for status in statuses where codes.containerName == nil || codes.containerName == status.name {
                    guard let code = status.state?.terminated?.exitCode, code != 0 else { continue }
                    if codes.values.contains(code) == (codes.operator == "In") {
                        return (index, rule, "Container \(status.name) for pod \(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "") failed with exit code \(code) matching \(rule.action) rule at index \(index)")
                    }
                }
            } else if let conditions = rule.onPodConditions {
                for wanted in conditions {
                    if (pod.status?.conditions ?? []).contains(where: { $0.type == wanted.type && $0.status == (wanted.status ?? "True") }) {
                        return (index, rule, "Pod \(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "") has condition \(wanted.type) matching \(rule.action) rule at index \(index)")
                    }
                }
            }
        }
        return nil
    }

    /// The Job's final condition, if it has one (`Complete` or `Failed`).
    public var finished: JobCondition? {
        status?.conditions?.first { ($0.type == "Complete" || $0.type == "Failed") && $0.status == "True" }
    }
}
