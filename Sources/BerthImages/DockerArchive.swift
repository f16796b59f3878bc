import BerthCore
import Foundation

/// Import of docker-archive tarballs (`docker save`, `skopeo copy … docker-archive:`, `podman
/// save`): every file of the archive is streamed into the content store once (hashed on the
/// way), then `manifest.json` says which blobs form each image.
public enum DockerArchive {
    @discardableResult
    public static func importImages(from path: String, into store: ImageStore) throws(BerthError) -> [LocalImage] {
        let reader = TarReader(try FileByteSource(path: path))
        var blobs: [String: (digest: Digest, size: Int64)] = [:]
        var manifestJSON: [UInt8]?
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while let entry = try reader.next() {
            guard entry.kind == .file else { continue }
            let name = normalized(entry.path)
            let writer = try BlobWriter(store: store.content)
            var small: [UInt8] = []
            while true {
                let count = try chunk.withMutableBytes { (raw) throws(BerthError) in try reader.readData(into: raw) }
                if count == 0 { break }
                try chunk.withBytes { (raw) throws(BerthError) in try writer.append(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
                if name == "manifest.json" && small.count < 1 << 20 { small.append(contentsOf: chunk[0..<count]) }
            }
            if name == "manifest.json" { manifestJSON = small }
            let size = writer.written
            blobs[name] = (try writer.commit(), size)
        }
        guard let manifestJSON, case .array(let entries)? = try? JSONParser.parse(manifestJSON) else {
            throw BerthError(.badRequest, "\(path) is not a docker archive: no manifest.json")
        }
        var imported: [LocalImage] = []
        for entry in entries {
            guard let configPath = entry["Config"]?.stringValue, let config = blobs[normalized(configPath)] else {
                throw BerthError(.badRequest, "docker archive manifest names a config that is not in the archive")
            }
            var layers: [Descriptor] = []
            for layerPath in entry["Layers"]?.arrayValue ?? [] {
                guard let name = layerPath.stringValue, let layer = blobs[normalized(name)] else {
                    throw BerthError(.badRequest, "docker archive manifest names a layer that is not in the archive")
                }
                let compression = try LayerCompression.detect(path: store.content.path(for: layer.digest))
                let mediaType = switch compression {
                case .gzip: MediaType.dockerLayerGzip
                case .zstd: MediaType.ociLayerZstd
                case .none: "application/vnd.docker.image.rootfs.diff.tar"
                }
                layers.append(Descriptor(mediaType: mediaType, digest: layer.digest, size: layer.size))
            }
            let manifest = ImageManifest(mediaType: MediaType.dockerManifest,
                                         config: Descriptor(mediaType: MediaType.dockerConfig, digest: config.digest, size: config.size), layers: layers)
            let manifestDigest = try store.content.write(Array(try JSONCoding.encode(manifest)))
            let tags = (entry["RepoTags"]?.arrayValue ?? []).compactMap(\.stringValue)
            guard !tags.isEmpty else { throw BerthError(.badRequest, "docker archive image has no RepoTags to name it") }
            for tag in tags { imported.append(try store.tag(try ImageReference(parsing: tag), manifest: manifestDigest)) }
        }
        // Archive files that are neither config nor layer (manifest.json, repositories, index) go.
        store.collectGarbage()
        return imported
    }

    static func normalized(_ path: String) -> String {
        path.hasPrefix("./") ? String(path.dropFirst(2)) : path
    }
}
