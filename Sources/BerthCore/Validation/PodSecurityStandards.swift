/// Kubernetes' Pod Security Standards (the `baseline` and `restricted` levels; `privileged`
/// allows everything), as pure checks of a pod spec. Each violation is worded as Kubernetes'
/// Pod Security admission words it, so a refusal reads the same:
/// `privileged (container "c" must not set securityContext.privileged=true)`.
public enum PodSecurityStandards {
    public enum Level: String, Sendable, CaseIterable {
        case privileged, baseline, restricted
    }

    public static let enforceLabel = "pod-security.kubernetes.io/enforce"
    public static let warnLabel = "pod-security.kubernetes.io/warn"
    public static let auditLabel = "pod-security.kubernetes.io/audit"
    /// The audit event annotation a violation of the `audit` level leaves.
    public static let auditAnnotation = "pod-security.kubernetes.io/audit-violations"

    static let baselineCapabilities: Set<String> = ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                                                    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]
    static let safeSysctls: Set<String> = ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
                                           "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
                                           "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                                           "net.ipv4.tcp_keepalive_probes"]

    /// The violations of `spec` at `level`, in Kubernetes' order and wording; empty if it complies.
    public static func violations(_ spec: PodSpec, level: Level) -> [String] {
        guard level != .privileged else { return [] }
        var found: [String] = []
        let containers = (spec.initContainers ?? []) + spec.containers
        func quoted(_ names: [String]) -> String { names.map { "\"\($0)\"" }.joined(separator: ", ") }
        func containersWhere(_ test: (Container) -> Bool) -> [String] { containers.filter(test).map(\.name) }

        var hostNamespaces: [String] = []
        if spec.hostNetwork == true { hostNamespaces.append("hostNetwork=true") }
        if spec.hostPID == true { hostNamespaces.append("hostPID=true") }
        if spec.hostIPC == true { hostNamespaces.append("hostIPC=true") }
        if !hostNamespaces.isEmpty { found.append("host namespaces (\(hostNamespaces.joined(separator: ", ")))") }

        let privileged = containersWhere { $0.securityContext?.privileged == true }
        if !privileged.isEmpty {
            found.append("privileged (\(privileged.count == 1 ? "container" : "containers") \(quoted(privileged)) must not set securityContext.privileged=true)")
        }
        for container in containers {
            let added = (container.securityContext?.capabilities?.add ?? []).filter { !baselineCapabilities.contains($0) }
            if !added.isEmpty {
                found.append("non-default capabilities (container \"\(container.name)\" must not include \(quoted(added)) in securityContext.capabilities.add)")
            }
        }
        let hostPaths = (spec.volumes ?? []).filter { $0.hostPath != nil }.map(\.name)
        if !hostPaths.isEmpty { found.append("hostPath volumes (\(hostPaths.count == 1 ? "volume" : "volumes") \(quoted(hostPaths)))") }
        for container in containers {
            let ports = (container.ports ?? []).compactMap(\.hostPort).filter { $0 != 0 }
            if !ports.isEmpty { found.append("hostPort (container \"\(container.name)\" uses \(ports.count == 1 ? "hostPort" : "hostPorts") \(ports.map(String.init).joined(separator: ", ")))") }
        }
        let unmasked = containersWhere { ($0.securityContext?.procMount ?? "Default") != "Default" }
        if !unmasked.isEmpty { found.append("procMount (\(unmasked.count == 1 ? "container" : "containers") \(quoted(unmasked)) must not set securityContext.procMount)") }
        var unconfined: [String] = []
        if spec.securityContext?.seccompProfile?.type == "Unconfined" { unconfined.append("pod") }
        unconfined += containersWhere { $0.securityContext?.seccompProfile?.type == "Unconfined" }.map { "container \"\($0)\"" }
        if !unconfined.isEmpty {
            found.append("seccompProfile (\(unconfined.joined(separator: ", ")) must not set securityContext.seccompProfile.type to \"Unconfined\")")
        }
        let sysctls = (spec.securityContext?.sysctls ?? []).map(\.name).filter { !safeSysctls.contains($0) }
        if !sysctls.isEmpty { found.append("forbidden sysctls (\(sysctls.joined(separator: ", ")))") }
        guard level == .restricted else { return found }

        let allowedVolumes: Set<String> = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]
        for volume in spec.volumes ?? [] {
            let type: String? = volume.hostPath != nil ? "hostPath" : volume.nfs != nil ? "nfs" : volume.image != nil ? "image" : nil
            if let type, !allowedVolumes.contains(type) {
                found.append("restricted volume types (volume \"\(volume.name)\" uses restricted volume type \"\(type)\")")
            }
        }
        let escalating = containersWhere { $0.securityContext?.allowPrivilegeEscalation != false }
        if !escalating.isEmpty {
            found.append("allowPrivilegeEscalation != false (\(escalating.count == 1 ? "container" : "containers") \(quoted(escalating)) must set securityContext.allowPrivilegeEscalation=false)")
        }
        let podNonRoot = spec.securityContext?.runAsNonRoot == true
        let rootAllowed = containersWhere { ($0.securityContext?.runAsNonRoot ?? (podNonRoot ? true : nil)) != true }
        if !rootAllowed.isEmpty {
            found.append("runAsNonRoot != true (pod or \(rootAllowed.count == 1 ? "container" : "containers") \(quoted(rootAllowed)) must set securityContext.runAsNonRoot=true)")
        }
        var rootUsers: [String] = []
        if spec.securityContext?.runAsUser == 0 { rootUsers.append("pod") }
        rootUsers += containersWhere { $0.securityContext?.runAsUser == 0 }.map { "container \"\($0)\"" }
        if !rootUsers.isEmpty { found.append("runAsUser=0 (\(rootUsers.joined(separator: ", ")) must not set runAsUser=0)") }
        let podProfile = spec.securityContext?.seccompProfile?.type
        let unprofiled = containersWhere { container in
            let type = container.securityContext?.seccompProfile?.type ?? podProfile
            return type != "RuntimeDefault" && type != "Localhost"
        }
        if !unprofiled.isEmpty {
            found.append("seccompProfile (pod or \(unprofiled.count == 1 ? "container" : "containers") \(quoted(unprofiled)) must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")")
        }
        let undropped = containersWhere { !($0.securityContext?.capabilities?.drop ?? []).contains("ALL") }
        if !undropped.isEmpty {
            found.append("unrestricted capabilities (\(undropped.count == 1 ? "container" : "containers") \(quoted(undropped)) must set securityContext.capabilities.drop=[\"ALL\"])")
        }
        for container in containers {
            let added = (container.securityContext?.capabilities?.add ?? []).filter { $0 != "NET_BIND_SERVICE" }
            if !added.isEmpty {
                found.append("unrestricted capabilities (container \"\(container.name)\" must not include \(quoted(added)) in securityContext.capabilities.add)")
            }
        }
        return found
    }
}
