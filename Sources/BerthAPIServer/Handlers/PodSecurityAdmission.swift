import BerthCore
import BerthStore

/// Pod Security admission: a namespace labelled `pod-security.kubernetes.io/enforce: baseline`
/// (or `restricted`) refuses pods that break that level of the Pod Security Standards, with
/// Kubernetes' message; `privileged` or no label allows everything. An unknown level is taken as
/// `restricted` (refusing is the safe mistake).
extension APIServer {
    func checkPodSecurity(_ pod: JSONValue) async throws(BerthError) {
        let namespaceName = pod.value(at: ["metadata", "namespace"])?.stringValue ?? "default"
        guard let namespace = try? await admissionGet(.namespace, name: namespaceName),
              let label = namespace.value(at: ["metadata", "labels", PodSecurityStandards.enforceLabel])?.stringValue else { return }
        let level = PodSecurityStandards.Level(rawValue: label) ?? .restricted
        guard level != .privileged, let spec = try? pod["spec"]?.decode(PodSpec.self) else { return }
        let violations = PodSecurityStandards.violations(spec, level: level)
        guard !violations.isEmpty else { return }
        let name = pod.value(at: ["metadata", "name"])?.stringValue ?? ""
        throw BerthError(.forbidden, "pods \"\(name)\" is forbidden: violates PodSecurity \"\(level.rawValue):latest\": \(violations.joined(separator: ", "))")
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
