/// What every stored kind provides to the generic API machinery.
public protocol APIResource: Codable, Sendable, Hashable {
    var metadata: ObjectMeta { get set }
    /// Fills in what Kubernetes defaults on write (restartPolicy, protocol, strategy …).
    static func applyDefaults(_ object: inout Self)
    /// Field errors of a new object, or of an update given the stored object.
    static func validate(_ object: Self, old: Self?) -> FieldErrors
    /// Fields accepted on write but folded into others by defaulting (Secret `stringData`).
    static var writeOnlyFields: Set<String> { get }
    /// Whether `validate` must see the stored object for this update. Decoding it costs as
    /// much as decoding the new one, and most updates (status, leases) cannot fail a check
    /// against it.
    static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool
}

extension APIResource {
    public static func applyDefaults(_ object: inout Self) {}
    public static func validate(_ object: Self, old: Self?) -> FieldErrors { FieldErrors() }
    public static var writeOnlyFields: Set<String> { [] }
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { true }
}

/// Kinds whose update checks compare only `spec` fields (immutable selectors, templates,
/// addresses): an unchanged `spec` passes them, whatever else the update changes.
public protocol ComparesOnlySpecOnUpdate: APIResource {}

extension ComparesOnlySpecOnUpdate {
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { object["spec"] != old["spec"] }
}

extension Pod: ComparesOnlySpecOnUpdate {}
extension Node: ComparesOnlySpecOnUpdate {}
extension ReplicaSet: ComparesOnlySpecOnUpdate {}
extension Deployment: ComparesOnlySpecOnUpdate {}
extension DaemonSet: ComparesOnlySpecOnUpdate {}
extension Job: ComparesOnlySpecOnUpdate {}
extension BerthCore.Service: ComparesOnlySpecOnUpdate {}

extension Pod: APIResource {
    public static func applyDefaults(_ object: inout Pod) {
        if var spec = object.spec {
            Defaults.podSpec(&spec)
            object.spec = spec
        }
        applyStatusDefaults(&object.status)
    }

    public static func validate(_ object: Pod, old: Pod?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        PodValidation.validate(spec, path: "spec", into: &errors)
        if let oldSpec = old?.spec { PodValidation.validateUpdate(spec, oldSpec, into: &errors) }
        return errors
    }
}

extension ReplicaSet: APIResource {
    public static func applyDefaults(_ object: inout ReplicaSet) {
        guard var spec = object.spec else { return }
        if spec.replicas == nil { spec.replicas = 1 }
        if var podSpec = spec.template?.spec {
            Defaults.podSpec(&podSpec)
            spec.template?.spec = podSpec
        }
        object.spec = spec
    }

    public static func validate(_ object: ReplicaSet, old: ReplicaSet?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        KindValidation.workload(selector: spec.selector, template: spec.template, replicas: spec.replicas, into: &errors)
        if let old, old.spec?.selector != spec.selector { errors.immutable("spec.selector") }
        return errors
    }
}

extension Deployment: APIResource {
    public static func applyDefaults(_ object: inout Deployment) {
        guard var spec = object.spec else { return }
        if spec.replicas == nil { spec.replicas = 1 }
        if spec.revisionHistoryLimit == nil { spec.revisionHistoryLimit = 10 }
        if spec.progressDeadlineSeconds == nil { spec.progressDeadlineSeconds = 600 }
        var strategy = spec.strategy ?? DeploymentStrategy()
        if strategy.type == nil { strategy.type = "RollingUpdate" }
        if strategy.type == "RollingUpdate" {
            var rolling = strategy.rollingUpdate ?? RollingUpdateParameters()
            if rolling.maxSurge == nil { rolling.maxSurge = .string("25%") }
            if rolling.maxUnavailable == nil { rolling.maxUnavailable = .string("25%") }
            strategy.rollingUpdate = rolling
        }
        spec.strategy = strategy
        if var podSpec = spec.template.spec {
            Defaults.podSpec(&podSpec)
            spec.template.spec = podSpec
        }
        object.spec = spec
    }

    public static func validate(_ object: Deployment, old: Deployment?) -> FieldErrors {
        var errors = FieldErrors()
        KindValidation.deployment(object, into: &errors)
        if let old, old.spec?.selector != object.spec?.selector { errors.immutable("spec.selector") }
        return errors
    }
}

extension DaemonSet: APIResource {
    public static func applyDefaults(_ object: inout DaemonSet) {
        guard var spec = object.spec else { return }
        if spec.revisionHistoryLimit == nil { spec.revisionHistoryLimit = 10 }
        var strategy = spec.updateStrategy ?? DaemonSetUpdateStrategy()
        if strategy.type == nil { strategy.type = "RollingUpdate" }
        if strategy.type == "RollingUpdate" {
            var rolling = strategy.rollingUpdate ?? RollingUpdateParameters()
            if rolling.maxSurge == nil { rolling.maxSurge = .int(0) }
            if rolling.maxUnavailable == nil { rolling.maxUnavailable = .int(1) }
            strategy.rollingUpdate = rolling
        }
        spec.updateStrategy = strategy
        if var podSpec = spec.template.spec {
            Defaults.podSpec(&podSpec)
            spec.template.spec = podSpec
        }
        object.spec = spec
    }

    public static func validate(_ object: DaemonSet, old: DaemonSet?) -> FieldErrors {
        var errors = FieldErrors()
        guard let spec = object.spec else {
            errors.required("spec")
            return errors
        }
        KindValidation.workload(selector: spec.selector, template: spec.template, replicas: nil, into: &errors)
        if let type = spec.updateStrategy?.type, !["RollingUpdate", "OnDelete"].contains(type) {
            errors.notSupported("spec.updateStrategy.type", type, ["OnDelete", "RollingUpdate"])
        }
        if let old, old.spec?.selector != spec.selector { errors.immutable("spec.selector") }
        return errors
    }
}

extension Service: APIResource {
    public static func applyDefaults(_ object: inout Service) {
        guard var spec = object.spec else { return }
        if spec.type == nil { spec.type = "ClusterIP" }
        if spec.sessionAffinity == nil { spec.sessionAffinity = "None" }
        if spec.internalTrafficPolicy == nil, spec.type != "ExternalName" { spec.internalTrafficPolicy = "Cluster" }
        spec.ports = spec.ports?.map { port in
            var port = port
            if port.protocol == nil { port.protocol = "TCP" }
            if port.targetPort == nil { port.targetPort = .int(Int(port.port)) }
            return port
        }
        object.spec = spec
    }

    public static func validate(_ object: Service, old: Service?) -> FieldErrors {
        var errors = FieldErrors()
        KindValidation.service(object, into: &errors)
        if let old, let oldIP = old.spec?.clusterIP, !oldIP.isEmpty, let newIP = object.spec?.clusterIP, newIP != oldIP {
            errors.immutable("spec.clusterIP")
        }
        return errors
    }
}

extension Endpoints: APIResource {
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { false }
}

extension ConfigMap: APIResource {
    public static func validate(_ object: ConfigMap, old: ConfigMap?) -> FieldErrors {
        var errors = FieldErrors()
        KindValidation.configMap(object, into: &errors)
        if let old, old.immutable == true {
            if old.data != object.data || old.binaryData != object.binaryData { errors.forbidden("data", "field is immutable when `immutable` is set") }
            if object.immutable != true { errors.forbidden("immutable", "field is immutable when `immutable` is set") }
        }
        return errors
    }
}

extension Secret: APIResource {
    public static var writeOnlyFields: Set<String> { ["stringData"] }

    public static func applyDefaults(_ object: inout Secret) {
        if object.type == nil || object.type == "" { object.type = "Opaque" }
        // stringData is write-only: fold it into data as base64, as Kubernetes does.
        if let plain = object.stringData {
            var data = object.data ?? [:]
            for (key, value) in plain { data[key] = Base64.encode(Array(value.utf8)) }
            object.data = data
            object.stringData = nil
        }
    }

    public static func validate(_ object: Secret, old: Secret?) -> FieldErrors {
        var errors = FieldErrors()
        KindValidation.secret(object, into: &errors)
        if let old {
            if old.type != object.type { errors.immutable("type") }
            if old.immutable == true, old.data != object.data { errors.forbidden("data", "field is immutable when `immutable` is set") }
        }
        return errors
    }
}

extension Namespace: APIResource {
    public static func applyDefaults(_ object: inout Namespace) {
        if object.spec == nil { object.spec = NamespaceSpec(finalizers: ["kubernetes"]) }
        if object.status?.phase == nil { object.status = NamespaceStatus(phase: "Active") }
        var labels = object.metadata.labels ?? [:]
        if let name = object.metadata.name { labels["kubernetes.io/metadata.name"] = name }
        object.metadata.labels = labels
    }
}

extension Node: APIResource {
    /// A cordoned node carries `node.kubernetes.io/unschedulable:NoSchedule` and an uncordoned
    /// one does not, as Kubernetes' node lifecycle controller keeps it: everything that reads
    /// taints (topology spread with `nodeTaintsPolicy: Honor`, tolerations) then sees the
    /// cordon. Kept on write, so there is no window where one is set without the other.
    public static func applyDefaults(_ node: inout Node) {
        let cordoned = node.spec?.unschedulable ?? false
        let taints = node.spec?.taints ?? []
        let tainted = taints.contains { $0.key == unschedulableTaint.key && $0.effect == unschedulableTaint.effect }
        if cordoned, !tainted {
            if node.spec == nil { node.spec = NodeSpec() }
            node.spec?.taints = taints + [unschedulableTaint]
        } else if !cordoned, tainted {
            let kept = taints.filter { $0.key != unschedulableTaint.key }
            node.spec?.taints = kept.isEmpty ? nil : kept
        }
    }

    public static let unschedulableTaint = Taint(key: "node.kubernetes.io/unschedulable", effect: "NoSchedule")

    public static func validate(_ object: Node, old: Node?) -> FieldErrors {
        var errors = FieldErrors()
        KindValidation.node(object, into: &errors)
        if let oldCIDR = old?.spec?.podCIDR, !oldCIDR.isEmpty, object.spec?.podCIDR != oldCIDR {
            errors.forbidden("spec.podCIDR", "node updates may not change podCIDR except from \"\" to valid")
        }
        return errors
    }
}

// Neither has update checks: the stored object is never needed.
extension Event: APIResource {
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { false }
}

extension Lease: APIResource {
    public static func validationNeedsOld(_ object: JSONValue, old: JSONValue) -> Bool { false }
}

import Foundation

public enum Base64 {
    public static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
    public static func decode(_ text: String) -> [UInt8]? { Data(base64Encoded: text).map { Array($0) } }
}

public enum Defaults {
    static func podSpec(_ spec: inout PodSpec) {
        if spec.restartPolicy == nil { spec.restartPolicy = "Always" }
        if spec.dnsPolicy == nil { spec.dnsPolicy = "ClusterFirst" }
        if spec.terminationGracePeriodSeconds == nil { spec.terminationGracePeriodSeconds = 30 }
        if spec.schedulerName == nil { spec.schedulerName = "default-scheduler" }
        if spec.securityContext == nil { spec.securityContext = PodSecurityContext() }
        if spec.enableServiceLinks == nil { spec.enableServiceLinks = true }
        dropFalseFlags(&spec)
        spec.containers = spec.containers.map(container)
        spec.initContainers = spec.initContainers?.map(container)
        spec.volumes = spec.volumes?.map { volume in
            var volume = volume
            let hasSource = volume.hostPath != nil || volume.configMap != nil || volume.secret != nil || volume.persistentVolumeClaim != nil
                || volume.projected != nil || volume.downwardAPI != nil || volume.ephemeral != nil || volume.csi != nil
                || volume.nfs != nil || volume.image != nil
            if volume.emptyDir == nil && !hasSource { volume.emptyDir = EmptyDirVolumeSource() }
            if volume.configMap != nil, volume.configMap?.defaultMode == nil { volume.configMap?.defaultMode = 0o644 }
            if volume.secret != nil, volume.secret?.defaultMode == nil { volume.secret?.defaultMode = 0o644 }
            return volume
        }
    }

    /// These are plain `bool`s with `omitempty` in Kubernetes' Go types, where false and absent
    /// are one value: Kubernetes never writes them as false, and Go clients drop them when they
    /// copy a template (`kubectl rollout undo` copies a ReplicaSet's). Stored as false, a
    /// template from `kubectl create deployment` and its own copy compared unequal, and the
    /// rollback made a new ReplicaSet instead of reusing the old one.
    static let falseFlags: Set<String> = ["hostNetwork", "hostPID", "hostIPC", "stdin", "stdinOnce", "tty"]

    public static func dropFalseFlags(_ spec: inout PodSpec) {
        if spec.hostNetwork == false { spec.hostNetwork = nil }
        if spec.hostPID == false { spec.hostPID = nil }
        if spec.hostIPC == false { spec.hostIPC = nil }
        func drop(_ container: inout Container) {
            if container.stdin == false { container.stdin = nil }
            if container.stdinOnce == false { container.stdinOnce = nil }
            if container.tty == false { container.tty = nil }
        }
        for index in spec.containers.indices { drop(&spec.containers[index]) }
        for index in (spec.initContainers ?? []).indices { drop(&spec.initContainers![index]) }
    }

    static func container(_ container: Container) -> Container {
        var container = container
        if container.imagePullPolicy == nil {
            let image = container.image ?? ""
            let lastComponent = image.split(separator: "/").last ?? ""
            let untaggedOrLatest = !lastComponent.contains(":") || image.hasSuffix(":latest")
            container.imagePullPolicy = untaggedOrLatest && !image.contains("@") ? "Always" : "IfNotPresent"
        }
        if container.terminationMessagePath == nil { container.terminationMessagePath = "/dev/termination-log" }
        if container.terminationMessagePolicy == nil { container.terminationMessagePolicy = "File" }
        if container.resources == nil { container.resources = ResourceRequirements() }
        container.ports = container.ports?.map { port in
            var port = port
            if port.protocol == nil { port.protocol = "TCP" }
            return port
        }
        return container
    }
}
