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

    /// Writes the files into `directory` the way the kubelet's atomic writer does, so a running
    /// app sees the whole old set or the whole new set, never a mix: the files go into a fresh
    /// `..TIMESTAMP` directory, the `..data` symlink is swapped to it in one rename, and each
    /// top-level name is a symlink through `..data`. Returns false when the volume already held
    /// exactly these files (nothing written). `subPath` mounts bind the file the symlinks
    /// resolved to when the container started, so they keep the old contents, as in Kubernetes.
    @discardableResult
    static func write(_ files: [VolumeFile], into directory: String) throws(BerthError) -> Bool {
        try PodVolumes.makeDirectory(directory, mode: 0o755)
        var topLevel: Set<String> = []
        for file in files {
            let components = file.path.split(separator: "/")
            guard !file.path.hasPrefix("/"), !components.isEmpty, !components.contains(".."), !components.contains(where: { $0.hasPrefix("..") }) else {
                throw BerthError(.invalid, "volume item path \"\(file.path)\" must be relative, stay inside the volume and not start with '..'")
            }
            topLevel.insert(String(components[0]))
        }
        if holds(files, directory: directory) { return false }
        let stamp = "..\(timestamp())"
        let target = "\(directory)/\(stamp)"
        do throws(BerthError) {
            try PodVolumes.makeDirectory(target, mode: 0o755)
            for file in files {
                let path = "\(target)/\(file.path)"
                try PodVolumes.makeDirectory((path as NSString).deletingLastPathComponent, mode: 0o755)
                guard FileManager.default.createFile(atPath: path, contents: Data(file.bytes), attributes: [.posixPermissions: Int(file.mode)]) else {
                    throw BerthError(.internalError, "failed to write \(path)")
                }
            }
            let temporary = "\(directory)/..data_tmp"
            unlink(temporary)
            guard symlink(stamp, temporary) == 0, rename(temporary, "\(directory)/..data") == 0 else {
                throw BerthError(.internalError, "failed to switch \(directory)/..data to \(stamp)")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: target)
            throw error
        }
        for name in topLevel {
            let link = "\(directory)/\(name)"
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == "..data/\(name)" { continue }
            try? FileManager.default.removeItem(atPath: link)
            guard symlink("..data/\(name)", link) == 0 else { throw BerthError(.internalError, "failed to link \(link)") }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let stale = name.hasPrefix("..") ? (name != stamp && name != "..data") : !topLevel.contains(name)
            if stale { try? FileManager.default.removeItem(atPath: "\(directory)/\(name)") }
        }
        return true
    }

    /// Whether the volume's current `..data` holds exactly these files, bytes and modes.
    static func holds(_ files: [VolumeFile], directory: String) -> Bool {
        let data = "\(directory)/..data"
        guard FileManager.default.fileExists(atPath: data) else { return false }
        var count = 0
        if let walker = FileManager.default.enumerator(atPath: data) {
            for case let path as String in walker {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: "\(data)/\(path)", isDirectory: &isDirectory), !isDirectory.boolValue { count += 1 }
            }
        }
        guard count == files.count else { return false }
        for file in files {
            let path = "\(data)/\(file.path)"
            guard let bytes = FileManager.default.contents(atPath: path), Array(bytes) == file.bytes,
                  let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int, mode == Int(file.mode) else { return false }
        }
        return true
    }

    /// `2026_12_07_22_35_10.123456789`, as the kubelet names its data directories.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let nanos = String(now.tv_nsec)
        return "\(parts.tm_year + 1900)_\(two(parts.tm_mon + 1))_\(two(parts.tm_mday))_\(two(parts.tm_hour))_\(two(parts.tm_min))_\(two(parts.tm_sec))."
            + String(repeating: "0", count: max(0, 9 - nanos.count)) + nanos
    }
}
