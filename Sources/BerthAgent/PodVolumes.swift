import BerthCore
import Foundation

/// The pod's volumes on this host: emptyDir under the pod's directory, hostPath as given,
/// persistentVolumeClaim through its bound volume (see PodVolumes+Claims),
/// configMap, secret, downwardAPI and projected volumes written as files (secret and projected
/// ones on a tmpfs, so secrets never touch disk).
struct PodVolumes: Sendable {
    let api: AgentAPI
    let nodeName: String
    /// Where GlusterFS volumes are mounted on this node (one mount per volume).
    let glusterMounts: String

    static func isFinished(_ pod: Pod) -> Bool { pod.status?.phase == "Succeeded" || pod.status?.phase == "Failed" }

    /// Prepares every volume; returns name → host path.
    func setUp(_ pod: Pod, podDirectory: String) async throws(BerthError) -> [String: String] {
        var paths: [String: String] = [:]
        for volume in pod.spec?.volumes ?? [] {
            let directory = "\(podDirectory)/volumes/\(volume.name)"
            if let emptyDir = volume.emptyDir {
                try Self.makeDirectory(directory, mode: 0o777)
                if emptyDir.medium == "Memory", !Self.isMountPoint(directory) {
                    // tmpfs pages are charged to the memory cgroup of the container writing
                    // them: a memory-backed emptyDir counts against the pod's memory limit.
                    let size = emptyDir.sizeLimit.map { "size=\($0.value)" } ?? "size=50%"
                    guard mount("tmpfs", directory, "tmpfs", 0, "mode=1777,\(size)") == 0 else {
                        throw BerthError(.internalError, "failed to mount tmpfs for emptyDir \(volume.name)")
                    }
                }
                paths[volume.name] = directory
            } else if let hostPath = volume.hostPath {
                try Self.prepareHostPath(hostPath)
                paths[volume.name] = hostPath.path
            } else if let claim = volume.persistentVolumeClaim {
                paths[volume.name] = try await claimPath(claim, volumeName: volume.name, pod: pod, node: nodeName)
            } else if let files = try await files(of: volume, pod: pod) {
                if volume.secret != nil || volume.projected != nil { try Self.mountTmpfs(directory, volume: volume.name) }
                try VolumeFiles.write(files, into: directory)
                paths[volume.name] = directory
            } else {
                throw BerthError(.invalid, "volume \"\(volume.name)\": only emptyDir, hostPath, configMap, secret, downwardAPI and projected volumes are supported on this node")
            }
        }
        return paths
    }

    /// Rewrites the volumes that show the pod's labels or annotations, after they changed.
    func refreshDownwardAPI(_ pod: Pod, podDirectory: String) async throws(BerthError) {
        for volume in pod.spec?.volumes ?? [] where volume.downwardAPI != nil || volume.projected?.sources?.contains(where: { $0.downwardAPI != nil }) == true {
            guard let files = try await files(of: volume, pod: pod) else { continue }
            try VolumeFiles.write(files, into: "\(podDirectory)/volumes/\(volume.name)")
        }
    }

    /// Writes configMap, secret and projected volumes again from their sources (only those whose
    /// contents changed are rewritten, atomically): edits reach running pods without restarts.
    /// Tokens already written are kept; `refreshServiceAccountTokens` renews them.
    func refreshSources(_ pod: Pod, podDirectory: String) async throws(BerthError) {
        for volume in pod.spec?.volumes ?? [] {
            let fromSources = volume.configMap != nil || volume.secret != nil
                || volume.projected?.sources?.contains(where: { $0.configMap != nil || $0.secret != nil }) == true
            guard fromSources else { continue }
            let directory = "\(podDirectory)/volumes/\(volume.name)"
            guard let files = try await files(of: volume, pod: pod, keepingTokensIn: directory) else { continue }
            try VolumeFiles.write(files, into: directory)
        }
    }

    /// The files of a file-backed volume; nil for other kinds. With `keepingTokensIn`, a token
    /// already written there is reused instead of requesting a new one.
    func files(of volume: Volume, pod: Pod, keepingTokensIn directory: String? = nil) async throws(BerthError) -> [VolumeFile]? {
        if let source = volume.configMap {
            return try await configMapFiles(source.name, items: source.items, mode: source.defaultMode ?? 0o644, optional: source.optional ?? false, pod: pod)
        }
        if let source = volume.secret {
            return try await secretFiles(source.secretName, items: source.items, mode: source.defaultMode ?? 0o644, optional: source.optional ?? false, pod: pod)
        }
        if let source = volume.downwardAPI {
            return try VolumeFiles.downwardAPI(source.items ?? [], pod: pod, mode: source.defaultMode ?? 0o644)
        }
        guard let projected = volume.projected else { return nil }
        let mode = projected.defaultMode ?? 0o644
        var files: [VolumeFile] = []
        for (index, source) in (projected.sources ?? []).enumerated() {
            if let map = source.configMap {
                files += try await configMapFiles(map.name, items: map.items, mode: mode, optional: map.optional ?? false, pod: pod)
            } else if let secret = source.secret {
                files += try await secretFiles(secret.name, items: secret.items, mode: mode, optional: secret.optional ?? false, pod: pod)
            } else if let downward = source.downwardAPI {
                files += try VolumeFiles.downwardAPI(downward.items ?? [], pod: pod, mode: mode)
            } else if let token = source.serviceAccountToken {
                if let directory, let written = FileManager.default.contents(atPath: "\(directory)/..data/\(token.path)") {
                    files.append(VolumeFile(path: token.path, bytes: Array(written), mode: mode))
                } else {
                    files.append(VolumeFile(path: token.path, bytes: Array(try await serviceAccountToken(token, pod: pod).utf8), mode: mode))
                }
            } else {
                // Trust bundles and pod certificates need issuers Berth does not have; saying so
                // beats an empty file the app would trust.
                let kind = source.clusterTrustBundle != nil ? "clusterTrustBundle" : "podCertificate"
                throw BerthError(.invalid, "volume \"\(volume.name)\": projected source \(index) (\(kind)) is not supported on this node; configMap, secret, downwardAPI and serviceAccountToken are")
            }
        }
        return files
    }

    /// A token for the pod's ServiceAccount bound to the pod (TokenRequest), as the kubelet
    /// asks for it: the projection's audience and lifetime (an hour by default).
    func serviceAccountToken(_ projection: ServiceAccountTokenProjection, pod: Pod) async throws(BerthError) -> String {
        let namespace = pod.metadata.namespace ?? "default"
        let account = pod.spec?.serviceAccountName ?? "default"
        var spec: JSONValue = ["expirationSeconds": .number(String(projection.expirationSeconds ?? 3600)),
                               "boundObjectRef": ["kind": "Pod", "apiVersion": "v1", "name": .string(pod.metadata.name ?? ""), "uid": .string(pod.metadata.uid ?? "")]]
        if let audience = projection.audience, !audience.isEmpty { spec["audiences"] = [.string(audience)] }
        let request: JSONValue = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec]
        let reply = try await api.create("/api/v1/namespaces/\(namespace)/serviceaccounts/\(account)/token", request)
        guard reply.status == 201, let token = (try? JSONParser.parse(reply.body))?.value(at: ["status", "token"])?.stringValue else {
            throw BerthError(.notFound, "cannot get a token for serviceaccount \(namespace)/\(account): HTTP \(reply.status)")
        }
        return token
    }

    /// Writes the token-carrying volumes again (fresh tokens): the kubelet refreshes a token at
    /// 80 % of its lifetime.
    func refreshServiceAccountTokens(_ pod: Pod, podDirectory: String) async throws(BerthError) {
        for volume in pod.spec?.volumes ?? [] where volume.projected?.sources?.contains(where: { $0.serviceAccountToken != nil }) == true {
            guard let files = try await files(of: volume, pod: pod) else { continue }
            try VolumeFiles.write(files, into: "\(podDirectory)/volumes/\(volume.name)")
        }
    }

    /// When the oldest token file of the pod was written (nil: none written yet).
    static func oldestTokenWrite(_ pod: Pod, podDirectory: String) -> Date? {
        var oldest: Date?
        for volume in pod.spec?.volumes ?? [] {
            for token in (volume.projected?.sources ?? []).compactMap(\.serviceAccountToken) {
                let path = "\(podDirectory)/volumes/\(volume.name)/\(token.path)"
                guard let written = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date else { continue }
                oldest = min(oldest ?? written, written)
            }
        }
        return oldest
    }

    /// How long until the pod's tokens should be refreshed (80 % of the shortest lifetime).
    static func tokenRefreshInterval(_ pod: Pod) -> TimeInterval? {
        let lifetimes = (pod.spec?.volumes ?? []).flatMap { $0.projected?.sources ?? [] }.compactMap { $0.serviceAccountToken }
            .map { TimeInterval($0.expirationSeconds ?? 3600) }
        return lifetimes.min().map { $0 * 0.8 }
    }

    private func configMapFiles(_ name: String?, items: [KeyToPath]?, mode: Int32, optional: Bool, pod: Pod) async throws(BerthError) -> [VolumeFile] {
        try await keyFiles(ConfigMap.self, "configmap", name, items: items, mode: mode, optional: optional, pod: pod, data: VolumeFiles.configMapData)
    }

    private func secretFiles(_ name: String?, items: [KeyToPath]?, mode: Int32, optional: Bool, pod: Pod) async throws(BerthError) -> [VolumeFile] {
        try await keyFiles(Secret.self, "secret", name, items: items, mode: mode, optional: optional, pod: pod, data: VolumeFiles.secretData)
    }

    /// Reads the ConfigMap or Secret from the pod's namespace and picks its keys; a missing
    /// optional one gives no files.
    private func keyFiles<T: Decodable>(_ type: T.Type, _ kind: String, _ name: String?, items: [KeyToPath]?, mode: Int32, optional: Bool, pod: Pod,
                                        data: (T) -> [String: [UInt8]]) async throws(BerthError) -> [VolumeFile] {
        let namespace = pod.metadata.namespace ?? "default"
        guard let object = try await api.getIfPresent(type, "/api/v1/namespaces/\(namespace)/\(kind)s/\(name ?? "")") else {
            if optional { return [] }
            throw BerthError(.notFound, "\(kind) \"\(name ?? "")\" not found")
        }
        return try VolumeFiles.keys(data(object), items: items, mode: mode, optional: optional, source: "\(kind) \"\(name ?? "")\"")
    }

    static func mountTmpfs(_ directory: String, volume: String) throws(BerthError) {
        try makeDirectory(directory, mode: 0o755)
        if !isMountPoint(directory) {
            guard mount("tmpfs", directory, "tmpfs", 0, "mode=0755,size=16m") == 0 else {
                throw BerthError(.internalError, "failed to mount tmpfs for volume \(volume)")
            }
        }
    }

    /// Unmounts what `setUp` mounted; the directory itself goes with the pod's directory.
    static func tearDown(podDirectory: String) {
        let volumes = "\(podDirectory)/volumes"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: volumes)) ?? [] where isMountPoint("\(volumes)/\(name)") {
            if umount2("\(volumes)/\(name)", 0) != 0 { _ = umount2("\(volumes)/\(name)", Int32(MNT_DETACH)) }
        }
    }

    static func prepareHostPath(_ source: HostPathVolumeSource) throws(BerthError) {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory)
        switch source.type ?? "" {
        case "DirectoryOrCreate": if !exists { try makeDirectory(source.path, mode: 0o755) }
        case "Directory": guard exists && isDirectory.boolValue else { throw BerthError(.invalid, "hostPath \(source.path) is not a directory") }
        case "File": guard exists && !isDirectory.boolValue else { throw BerthError(.invalid, "hostPath \(source.path) is not a file") }
        case "FileOrCreate": if !exists { FileManager.default.createFile(atPath: source.path, contents: nil, attributes: [.posixPermissions: 0o644]) }
        default: break
        }
    }

    static func makeDirectory(_ path: String, mode: Int) throws(BerthError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        } catch {
            throw BerthError(.internalError, "failed to create \(path): \(error)")
        }
    }

    static func isMountPoint(_ path: String) -> Bool {
        var own = stat(), parent = stat()
        guard stat(path, &own) == 0, stat("\(path)/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }
}
