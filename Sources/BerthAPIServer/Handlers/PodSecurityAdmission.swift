import BerthCore

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
