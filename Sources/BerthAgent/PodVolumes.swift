import BerthCore
import Foundation

/// The pod's volumes on this host: emptyDir under the pod's directory, hostPath as given,
/// configMap and secret projected into files (secrets on a tmpfs, so they never touch disk).
struct PodVolumes: Sendable {
    let api: AgentAPI

    /// Prepares every volume; returns name → host path.
    func setUp(_ pod: Pod, podDirectory: String) async throws(BerthError) -> [String: String] {
        var paths: [String: String] = [:]
        let namespace = pod.metadata.namespace ?? "default"
        for volume in pod.spec?.volumes ?? [] {
            let directory = "\(podDirectory)/volumes/\(volume.name)"
            if volume.emptyDir != nil {
                try Self.makeDirectory(directory, mode: 0o777)
                paths[volume.name] = directory
            } else if let hostPath = volume.hostPath {
                try Self.prepareHostPath(hostPath)
                paths[volume.name] = hostPath.path
            } else if let source = volume.configMap {
                let map = try await api.getIfPresent(ConfigMap.self, "/api/v1/namespaces/\(namespace)/configmaps/\(source.name ?? "")")
                guard let map else {
                    if source.optional == true { try Self.makeDirectory(directory, mode: 0o755); paths[volume.name] = directory; continue }
                    throw BerthError(.notFound, "configmap \"\(source.name ?? "")\" not found")
                }
                var files: [String: [UInt8]] = [:]
                for (key, value) in map.data ?? [:] { files[key] = Array(value.utf8) }
                for (key, value) in map.binaryData ?? [:] { files[key] = Data(base64Encoded: value).map(Array.init) ?? [] }
                try Self.project(files, items: source.items, mode: source.defaultMode ?? 0o644, into: directory)
                paths[volume.name] = directory
            } else if let source = volume.secret {
                let secret = try await api.getIfPresent(Secret.self, "/api/v1/namespaces/\(namespace)/secrets/\(source.secretName ?? "")")
                guard let secret else {
                    if source.optional == true { try Self.makeDirectory(directory, mode: 0o755); paths[volume.name] = directory; continue }
                    throw BerthError(.notFound, "secret \"\(source.secretName ?? "")\" not found")
                }
                var files: [String: [UInt8]] = [:]
                for (key, value) in secret.data ?? [:] { files[key] = Data(base64Encoded: value).map(Array.init) ?? [] }
                try Self.makeDirectory(directory, mode: 0o755)
                if !Self.isMountPoint(directory) {
                    guard mount("tmpfs", directory, "tmpfs", 0, "mode=0755,size=16m") == 0 else {
                        throw BerthError(.internalError, "failed to mount tmpfs for secret volume \(volume.name)")
                    }
                }
                try Self.project(files, items: source.items, mode: source.defaultMode ?? 0o644, into: directory)
                paths[volume.name] = directory
            } else {
                throw BerthError(.invalid, "volume \"\(volume.name)\": only emptyDir, hostPath, configMap and secret volumes are supported on this node")
            }
        }
        return paths
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

    /// Writes keys as files (or the chosen items), replacing the directory's previous content.
    static func project(_ files: [String: [UInt8]], items: [KeyToPath]?, mode: Int32, into directory: String) throws(BerthError) {
        try makeDirectory(directory, mode: 0o755)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
        let chosen: [(String, [UInt8], Int32)] = items.map { items in
            items.compactMap { item in files[item.key].map { (item.path, $0, item.mode ?? mode) } }
        } ?? files.map { ($0.key, $0.value, mode) }
        for (relative, bytes, fileMode) in chosen {
            guard !relative.hasPrefix("/"), !relative.split(separator: "/").contains("..") else {
                throw BerthError(.invalid, "volume item path \"\(relative)\" must be relative and stay inside the volume")
            }
            let path = "\(directory)/\(relative)"
            try makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o755)
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: Int(fileMode)]) else {
                throw BerthError(.internalError, "failed to write \(path)")
            }
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
