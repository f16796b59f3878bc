/// `apps/v1` StatefulSet: pods with stable names (`NAME-0`, `NAME-1` …), stable DNS through a
/// headless Service, and a claim per pod from `volumeClaimTemplates` that outlives the pod.
public struct StatefulSet: Codable, Sendable, Hashable {
    public var apiVersion: String? = "apps/v1"
    public var kind: String? = "StatefulSet"
    public var metadata: ObjectMeta
    public var spec: StatefulSetSpec?
    public var status: StatefulSetStatus?
}

public struct StatefulSetSpec: Codable, Sendable, Hashable {
    public var replicas: Int32?
    public var selector: LabelSelectorSpec
    public var template: PodTemplateSpec
    public var serviceName: String?
    public var volumeClaimTemplates: [PersistentVolumeClaim]?
    public var podManagementPolicy: String?
    public var updateStrategy: StatefulSetUpdateStrategy?
    public var revisionHistoryLimit: Int32?
    public var minReadySeconds: Int32?
    public var persistentVolumeClaimRetentionPolicy: StatefulSetRetentionPolicy?
    public var ordinals: StatefulSetOrdinals?
}

public struct StatefulSetUpdateStrategy: Codable, Sendable, Hashable {
    public var type: String?
    public var rollingUpdate: StatefulSetRollingUpdate?
}

public struct StatefulSetRollingUpdate: Codable, Sendable, Hashable {
    public var partition: Int32?
    public var maxUnavailable: IntOrString?
}

public struct StatefulSetRetentionPolicy: Codable, Sendable, Hashable {
    public var whenDeleted: String?
    public var whenScaled: String?
}

public struct StatefulSetOrdinals: Codable, Sendable, Hashable {
    public var start: Int32?
}

public struct StatefulSetStatus: Codable, Sendable, Hashable {
    public var observedGeneration: Int64?
    public var replicas: Int32
    public var readyReplicas: Int32?
    public var currentReplicas: Int32?
    public var updatedReplicas: Int32?
    public var availableReplicas: Int32?
    public var currentRevision: String?
    public var updateRevision: String?
    public var collisionCount: Int32?
    public var conditions: [WorkloadCondition]?

    public init(replicas: Int32) { self.replicas = replicas }
}

extension StatefulSet: ComparesOnlySpecOnUpdate {}

extension StatefulSet: APIResource {
    public static func applyDefaults(_ object: inout StatefulSet) {
        guard var spec = object.spec else { return }
        if spec.replicas == nil { spec.replicas = 1 }
        if spec.podManagementPolicy == nil { spec.podManagementPolicy = "OrderedReady" }
        if spec.revisionHistoryLimit == nil { spec.revisionHistoryLimit = 10 }
        var strategy = spec.updateStrategy ?? StatefulSetUpdateStrategy()
        if strategy.type == nil { strategy.type = "RollingUpdate" }
        if strategy.type == "RollingUpdate" {
            var rolling = strategy.rollingUpdate ?? StatefulSetRollingUpdate()
            if rolling.partition == nil { rolling.partition = 0 }
            strategy.rollingUpdate = rolling
        }
        spec.updateStrategy = strategy
        var retention = spec.persistentVolumeClaimRetentionPolicy ?? StatefulSetRetentionPolicy()
        if retention.whenDeleted == nil { retention.whenDeleted = "Retain" }
        if retention.whenScaled == nil { retention.whenScaled = "Retain" }
        spec.persistentVolumeClaimRetentionPolicy = retention
        if var podSpec = spec.template.spec {
            Defaults.podSpec(&podSpec)
            spec.template.spec = podSpec
        }
        spec.volumeClaimTemplates = spec.volumeClaimTemplates?.map { template in
            var template = template
            if template.spec != nil, template.spec?.volumeMode == nil { template.spec?.volumeMode = "Filesystem" }
            return template
        }
        object.spec = spec
    }

    public static func validate(_ object: StatefulSet, old: StatefulSet?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        // Containers may mount the claim templates by name: each becomes a pod volume.
        var template = spec.template
        for claim in spec.volumeClaimTemplates ?? [] {
            guard let name = claim.metadata.name, !name.isEmpty, template.spec?.volumes?.contains(where: { $0.name == name }) != true else { continue }
            var volume = Volume(name: name)
            volume.persistentVolumeClaim = PersistentVolumeClaimVolumeSource(claimName: name)
            let existing = template.spec?.volumes ?? []
            template.spec?.volumes = existing + [volume]
        }
        KindValidation.workload(selector: spec.selector, template: template, replicas: spec.replicas, into: &errors)
        if let policy = spec.podManagementPolicy, !["OrderedReady", "Parallel"].contains(policy) {
            errors.notSupported("spec.podManagementPolicy", policy, ["OrderedReady", "Parallel"])
        }
        if let type = spec.updateStrategy?.type, !["RollingUpdate", "OnDelete"].contains(type) {
            errors.notSupported("spec.updateStrategy.type", type, ["OnDelete", "RollingUpdate"])
        }
        if let partition = spec.updateStrategy?.rollingUpdate?.partition, partition < 0 {
            errors.invalid("spec.updateStrategy.rollingUpdate.partition", String(partition), "must be greater than or equal to 0")
        }
        for (field, value) in [("whenDeleted", spec.persistentVolumeClaimRetentionPolicy?.whenDeleted), ("whenScaled", spec.persistentVolumeClaimRetentionPolicy?.whenScaled)] {
            if let value, !["Retain", "Delete"].contains(value) {
                errors.notSupported("spec.persistentVolumeClaimRetentionPolicy.\(field)", value, ["Delete", "Retain"])
            }
        }
        if let start = spec.ordinals?.start, start < 0 { errors.invalid("spec.ordinals.start", String(start), "must be greater than or equal to 0") }
        var names: Set<String> = []
        for (index, template) in (spec.volumeClaimTemplates ?? []).enumerated() {
            let path = "spec.volumeClaimTemplates[\(index)]"
            let name = template.metadata.name ?? ""
            if name.isEmpty { errors.required("\(path).metadata.name") } else if !names.insert(name).inserted { errors.duplicate("\(path).metadata.name", name) }
            if let templateSpec = template.spec { StorageValidation.claim(templateSpec, path: "\(path).spec", into: &errors) } else { errors.required("\(path).spec") }
        }
        if let old, let oldSpec = old.spec {
            // As in Kubernetes: only replicas, template, update strategy, retention policy,
            // ordinals and minReadySeconds may change.
            var comparable = spec
            comparable.replicas = oldSpec.replicas
            comparable.template = oldSpec.template
            comparable.updateStrategy = oldSpec.updateStrategy
            comparable.persistentVolumeClaimRetentionPolicy = oldSpec.persistentVolumeClaimRetentionPolicy
            comparable.ordinals = oldSpec.ordinals
            comparable.minReadySeconds = oldSpec.minReadySeconds
            comparable.revisionHistoryLimit = oldSpec.revisionHistoryLimit
            if comparable != oldSpec {
                errors.forbidden("spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
            }
        }
        return errors
    }
}

extension ResourceDescriptor {
    public static let statefulSet = ResourceDescriptor(
        StatefulSet.self, group: "apps", plural: "statefulsets", shortNames: ["sts"], categories: ["all"], subresources: ["status", "scale"],
        tracksGeneration: true,
        columns: [
            TableColumn("Ready", "Number of the pod with ready state."), ageColumn,
            TableColumn("Containers", priority: 1, "Names of each container in the template."), TableColumn("Images", priority: 1, "Images referenced by each container in the template."),
        ]
    ) { object, now in
        let containers = TableCells.containers(object, templatePath: ["spec", "template", "spec"])
        return [
            .string(TableCells.string(object, "metadata", "name") ?? ""),
            .string("\(TableCells.int(object, "status", "readyReplicas"))/\(TableCells.int(object, "spec", "replicas"))"), TableCells.age(object, now: now),
            TableCells.list(containers.compactMap { $0["name"]?.stringValue }), TableCells.list(containers.compactMap { $0["image"]?.stringValue }),
        ]
    }
}
