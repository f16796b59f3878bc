import BerthCore
import Foundation

/// One file of a configMap, secret, downwardAPI or projected volume.
struct VolumeFile: Sendable, Equatable {
    var path: String
    var bytes: [UInt8]
    var mode: Int32
}

/// Turns volume sources into files and writes them into a volume's directory.
enum VolumeFiles {
    /// The keys of a ConfigMap or Secret as files: all of them, or the chosen `items` (a chosen
    /// key that does not exist is an error unless the source is optional, as in Kubernetes).
    static func keys(_ data: [String: [UInt8]], items: [KeyToPath]?, mode: Int32, optional: Bool, source: String) throws(BerthError) -> [VolumeFile] {
        guard let items else { return data.keys.sorted().map { VolumeFile(path: $0, bytes: data[$0] ?? [], mode: mode) } }
        var files: [VolumeFile] = []
        for item in items {
            guard let bytes = data[item.key] else {
                if optional { continue }
                throw BerthError(.notFound, "\(source) has no key \"\(item.key)\"")
            }
            files.append(VolumeFile(path: item.path, bytes: bytes, mode: item.mode ?? mode))
        }
        return files
    }

    static func configMapData(_ map: ConfigMap) -> [String: [UInt8]] {
        var data: [String: [UInt8]] = [:]
        for (key, value) in map.data ?? [:] { data[key] = Array(value.utf8) }
        for (key, value) in map.binaryData ?? [:] { data[key] = Data(base64Encoded: value).map(Array.init) ?? [] }
        return data
    }

    static func secretData(_ secret: Secret) -> [String: [UInt8]] {
        var data: [String: [UInt8]] = [:]
        for (key, value) in secret.data ?? [:] { data[key] = Data(base64Encoded: value).map(Array.init) ?? [] }
        return data
    }

    /// downwardAPI items: the pod's metadata (name, namespace, uid, labels, annotations) and a
    /// named container's requests and limits.
    static func downwardAPI(_ items: [DownwardAPIVolumeFile], pod: Pod, mode: Int32) throws(BerthError) -> [VolumeFile] {
        var files: [VolumeFile] = []
        for item in items {
            let value: String
            if let field = item.fieldRef {
                guard let text = DownwardAPIValues.metadata(field.fieldPath, of: pod) else {
                    throw BerthError(.invalid, "downwardAPI item \"\(item.path)\": unsupported fieldRef \"\(field.fieldPath)\" (volumes expose metadata.name, .namespace, .uid, .labels, .annotations)")
                }
                value = text
            } else if let field = item.resourceFieldRef {
                value = try DownwardAPIValues.resource(field, of: pod, fallback: nil)
            } else {
                throw BerthError(.invalid, "downwardAPI item \"\(item.path)\" needs fieldRef or resourceFieldRef")
            }
            files.append(VolumeFile(path: item.path, bytes: Array(value.utf8), mode: item.mode ?? mode))
        }
        return files
    }

    /// Writes the files into `directory`, each replaced atomically (a reader sees the old file or
    /// the new one, never a half-written one), and removes what the volume no longer holds.
    static func write(_ files: [VolumeFile], into directory: String) throws(BerthError) {
        try PodVolumes.makeDirectory(directory, mode: 0o755)
        var kept: Set<String> = []
        for file in files {
            let components = file.path.split(separator: "/")
            guard !file.path.hasPrefix("/"), !components.isEmpty, !components.contains(".."), !components.contains(where: { $0.hasPrefix(".tmp-") }) else {
                throw BerthError(.invalid, "volume item path \"\(file.path)\" must be relative and stay inside the volume")
            }
            let path = "\(directory)/\(file.path)"
            let parent = (path as NSString).deletingLastPathComponent
            try PodVolumes.makeDirectory(parent, mode: 0o755)
            let temporary = "\(parent)/.tmp-\(components.last ?? "file")"
            guard FileManager.default.createFile(atPath: temporary, contents: Data(file.bytes), attributes: [.posixPermissions: Int(file.mode)]),
                  rename(temporary, path) == 0 else {
                try? FileManager.default.removeItem(atPath: temporary)
                throw BerthError(.internalError, "failed to write \(path)")
            }
            kept.insert(String(components[0]))
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where !kept.contains(name) {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(name)")
        }
    }
}
