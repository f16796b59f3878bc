import BerthCore
import BerthStore

/// Pod Security admission: a namespace labelled `pod-security.kubernetes.io/enforce: baseline`
/// (or `restricted`) refuses pods that break that level of the Pod Security Standards, with
/// Kubernetes' message; `privileged` or no label allows everything. An unknown level is taken as
/// `restricted` (refusing is the safe mistake). The `warn` label answers a violating pod — or a
/// workload whose pod template violates — with a `Warning` header, and the `audit` label adds
/// an annotation to the request's audit event; neither refuses (as in Kubernetes, workloads are
/// only warned about and audited, their pods are enforced).
extension APIServer {
    static let podTemplatePaths: [String: [String]] = [
        "Deployment": ["spec", "template", "spec"], "ReplicaSet": ["spec", "template", "spec"], "DaemonSet": ["spec", "template", "spec"],
        "StatefulSet": ["spec", "template", "spec"], "Job": ["spec", "template", "spec"], "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
    ]

    func checkPodSecurity(_ attempt: AdmissionAttempt) async throws(BerthError) {
        let object = attempt.object
        let namespaceName = object.value(at: ["metadata", "namespace"])?.stringValue ?? "default"
        guard let namespace = try? await admissionGet(.namespace, name: namespaceName),
              let labels = namespace.value(at: ["metadata", "labels"])?.objectValue else { return }
        let isPod = attempt.kind == "Pod"
        let path = isPod ? ["spec"] : Self.podTemplatePaths[attempt.kind] ?? ["spec"]
        guard let spec = try? object.value(at: path)?.decode(PodSpec.self) else { return }
        func violations(_ label: String) -> (PodSecurityStandards.Level, [String])? {
            guard let text = labels[label]?.stringValue else { return nil }
            let level = PodSecurityStandards.Level(rawValue: text) ?? .restricted
            guard level != .privileged else { return nil }
            let found = PodSecurityStandards.violations(spec, level: level)
            return found.isEmpty ? nil : (level, found)
        }
        if isPod, let (level, found) = violations(PodSecurityStandards.enforceLabel) {
            let name = object.value(at: ["metadata", "name"])?.stringValue ?? ""
            throw BerthError(.forbidden, "pods \"\(name)\" is forbidden: violates PodSecurity \"\(level.rawValue):latest\": \(found.joined(separator: ", "))")
        }
        if let (level, found) = violations(PodSecurityStandards.warnLabel) {
            AdmissionNotes.current?.warnings.append("would violate PodSecurity \"\(level.rawValue):latest\": \(found.joined(separator: ", "))")
        }
        if let (level, found) = violations(PodSecurityStandards.auditLabel) {
            AuditCapture.current?.annotations[PodSecurityStandards.auditAnnotation] = "would violate PodSecurity \"\(level.rawValue):latest\": \(found.joined(separator: ", "))"
        }
    }
}

/// LimitRange admission: the pod's namespace's LimitRanges fill in container defaults and
/// bound what is asked (`LimitRangePolicy`); a pod outside them is refused with Kubernetes' words.
extension APIServer {
    func applyLimitRanges(_ pod: JSONValue) async throws(BerthError) -> JSONValue {
        let namespace = pod.value(at: ["metadata", "namespace"])?.stringValue ?? "default"
        let prefix = storage.prefix(.limitRange, namespace: namespace)
        let ranges = try await admissionList(.limitRange).filter { $0.key.hasPrefix(prefix) }
            .compactMap { try? ObjectCodec.decode($0).decode(LimitRange.self) }
        guard !ranges.isEmpty, var spec = try? pod["spec"]?.decode(PodSpec.self) else { return pod }
        let problems = LimitRangePolicy.apply(ranges, to: &spec)
        let name = pod.value(at: ["metadata", "name"])?.stringValue ?? ""
        guard problems.isEmpty else { throw BerthError(.forbidden, "pods \"\(name)\" is forbidden: [\(problems.joined(separator: ", "))]") }
        var admitted = pod
        admitted["spec"] = try JSONValue(encoding: spec)
        return admitted
    }
}
