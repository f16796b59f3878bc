import BerthCore
import BerthImages
import BerthRuntime
import Foundation

/// Turns a pod's container (plus its image and the pod's sandbox) into what the runtime runs:
/// command and args as Kubernetes combines them with the image's entrypoint and cmd, env with
/// `valueFrom` resolved, mounts, user, resources and security settings.
struct ContainerSpecFactory: Sendable {
    let api: AgentAPI
    let catalog: ServiceCatalog

    struct Sandbox: Sendable {
        var podDirectory: String
        var networkNamespace: String
        var podIP: String
        var hostIP: String
        var nodeName: String
        var volumePaths: [String: String]
    }

    func configuration(for container: Container, in pod: Pod, image: LocalImage, id: String, rootfs: String,
                       sandbox: Sandbox) async throws(BerthError) -> ContainerConfiguration {
        let imageConfig = image.configuration.config
        let arguments = Self.arguments(command: container.command, args: container.args,
                                       entrypoint: imageConfig?.Entrypoint, cmd: imageConfig?.Cmd)
        guard !arguments.isEmpty else { throw BerthError(.invalid, "no command specified: the image has no entrypoint or cmd and the container sets none") }
        let environment = try await environment(for: container, in: pod, imageEnv: imageConfig?.Env ?? [], sandbox: sandbox)
        let hostname = pod.spec?.hostname ?? pod.metadata.name ?? "pod"
        var configuration = ContainerConfiguration(
            id: id, rootfs: rootfs, arguments: arguments, environment: environment,
            workingDirectory: container.workingDir ?? (imageConfig?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"),
            hostname: hostname, cgroupsPath: "/berth/pod-\(pod.metadata.uid ?? "x")/\(id)")
        configuration.networkNamespace = sandbox.networkNamespace
        if pod.spec?.hostIPC == true {
            configuration.hostIPC = true
        } else {
            configuration.ipcNamespace = PodIPC.namespacePath(podDirectory: sandbox.podDirectory)
            configuration.sharedMemory = PodIPC.sharedMemoryPath(podDirectory: sandbox.podDirectory)
        }
        configuration.mounts = try mounts(for: container, in: pod, sandbox: sandbox)
        let user = try Self.user(container: container, pod: pod, imageUser: imageConfig?.User, rootfs: rootfs)
        configuration.uid = user.uid
        configuration.gid = user.gid
        configuration.additionalGids = (pod.spec?.securityContext?.supplementalGroups ?? []).map { UInt32(clamping: $0) }
        let limits = container.resources?.limits ?? [:]
        let requests = container.resources?.requests ?? [:]
        configuration.resources = ContainerResources.fromKubernetes(
            cpuRequestMillis: requests["cpu"]?.milliValue, cpuLimitMillis: limits["cpu"]?.milliValue,
            memoryLimit: limits["memory"]?.value, pidsLimit: limits["berth.dev/pids"]?.value ?? 4096)
        let security = container.securityContext
        configuration.privileged = security?.privileged ?? false
        configuration.readOnlyRootfs = security?.readOnlyRootFilesystem ?? false
        configuration.allowPrivilegeEscalation = security?.allowPrivilegeEscalation ?? false
        configuration.addCapabilities = security?.capabilities?.add ?? []
        configuration.dropCapabilities = security?.capabilities?.drop ?? []
        configuration.terminal = container.tty ?? false
        configuration.openStdin = container.stdin ?? false
        configuration.stdinOnce = container.stdinOnce ?? false
        return configuration
    }

    /// Kubernetes' rule: `command` replaces the entrypoint (and drops the image's cmd), `args`
    /// replaces the cmd.
    static func arguments(command: [String]?, args: [String]?, entrypoint: [String]?, cmd: [String]?) -> [String] {
        if let command, !command.isEmpty { return command + (args ?? []) }
        return (entrypoint ?? []) + ((args?.isEmpty == false ? args : nil) ?? cmd ?? [])
    }

    private func mounts(for container: Container, in pod: Pod, sandbox: Sandbox) throws(BerthError) -> [RuntimeSpec.Mount] {
        var mounts: [RuntimeSpec.Mount] = [
            .init(destination: "/etc/hosts", type: "bind", source: "\(sandbox.podDirectory)/hosts", options: ["rbind", "rprivate", "ro"]),
            .init(destination: "/etc/resolv.conf", type: "bind", source: "\(sandbox.podDirectory)/resolv.conf", options: ["rbind", "rprivate", "ro"]),
            .init(destination: "/etc/hostname", type: "bind", source: "\(sandbox.podDirectory)/hostname", options: ["rbind", "rprivate", "ro"]),
        ]
        for mount in container.volumeMounts ?? [] {
            guard let source = sandbox.volumePaths[mount.name] else {
                throw BerthError(.invalid, "volume mount \"\(mount.name)\" names no volume of the pod")
            }
            var path = source
            if let subPath = mount.subPath, !subPath.isEmpty {
                guard !subPath.hasPrefix("/"), !subPath.split(separator: "/").contains("..") else {
                    throw BerthError(.invalid, "subPath \"\(subPath)\" must be relative and stay inside the volume")
                }
                path += "/\(subPath)"
                if !FileManager.default.fileExists(atPath: path) { try PodVolumes.makeDirectory(path, mode: 0o755) }
                // The bind follows symlinks (a configMap key is one, through `..data`): what it
                // resolves to must still be inside the volume, or a container could point a
                // symlink in its volume at the host.
                let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
                let root = URL(fileURLWithPath: source).resolvingSymlinksInPath().path
                guard resolved == root || resolved.hasPrefix(root + "/") else {
                    throw BerthError(.invalid, "subPath \"\(subPath)\" resolves outside its volume")
                }
                path = resolved
            }
            mounts.append(.init(destination: mount.mountPath, type: "bind", source: path,
                                options: ["rbind", "rprivate", mount.readOnly == true || Self.claimIsReadOnly(mount.name, in: pod) ? "ro" : "rw"]))
        }
        return mounts
    }

    /// Numeric uid/gid: securityContext first, then the image's `User` (names looked up in the
    /// image's /etc/passwd and /etc/group).
    static func user(container: Container, pod: Pod, imageUser: String?, rootfs: String) throws(BerthError) -> (uid: UInt32, gid: UInt32) {
        let runAsUser = container.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser
        let runAsGroup = container.securityContext?.runAsGroup ?? pod.spec?.securityContext?.runAsGroup
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        if let user = imageUser, !user.isEmpty {
            let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
            if let number = UInt32(parts[0]) { uid = number } else if let entry = lookup(parts[0], in: "\(rootfs)/etc/passwd") {
                uid = entry.id
                gid = entry.group ?? 0
            } else {
                throw BerthError(.invalid, "unable to find user \(parts[0]): no matching entries in passwd file")
            }
            if parts.count > 1 {
                if let number = UInt32(parts[1]) { gid = number } else if let entry = lookup(parts[1], in: "\(rootfs)/etc/group") { gid = entry.id }
            }
        }
        if let runAsUser { uid = UInt32(clamping: runAsUser) }
        if let runAsGroup { gid = UInt32(clamping: runAsGroup) }
        if container.securityContext?.runAsNonRoot ?? pod.spec?.securityContext?.runAsNonRoot ?? false, uid == 0 {
            throw BerthError(.invalid, "container has runAsNonRoot and image will run as root")
        }
        return (uid, gid)
    }

    private static func lookup(_ name: String, in file: String) -> (id: UInt32, group: UInt32?)? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            if fields.count >= 3, fields[0] == name, let id = UInt32(fields[2]) {
                return (id, fields.count >= 4 ? UInt32(fields[3]) : nil)
            }
        }
        return nil
    }

    /// A claim the pod mounts `readOnly` is read-only in every container.
    static func claimIsReadOnly(_ volumeName: String, in pod: Pod) -> Bool {
        pod.spec?.volumes?.first { $0.name == volumeName }?.persistentVolumeClaim?.readOnly == true
    }
}
