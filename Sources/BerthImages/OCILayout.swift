import BerthCore
import Foundation

/// Import and export of OCI image layout directories (`oci-layout`, `index.json`, `blobs/`), the
/// format `skopeo copy oci:DIR`, `umoci` and `podman save --format oci-dir` use.
public enum OCILayout {
    /// Imports every image the layout's index names (for multi-platform indexes, the host's
    /// platform). `name` names an image whose index entry carries only a tag or no name.
    @discardableResult
    public static func importImages(from directory: String, name: String? = nil, into store: ImageStore) throws(BerthError) -> [LocalImage] {
        let index = try JSONCoding.decode(ImageIndex.self, from: Data(try PosixFS.readAll("\(directory)/index.json")))
        var imported: [LocalImage] = []
        for entry in index.manifests {
            let manifestDescriptor = try selectManifest(entry, directory: directory, store: store)
            let manifestBytes = try copyBlob(manifestDescriptor, from: directory, into: store)
            let manifest = try JSONCoding.decode(ImageManifest.self, from: Data(manifestBytes))
            _ = try copyBlob(manifest.config, from: directory, into: store)
            for layer in manifest.layers { _ = try copyBlob(layer, from: directory, into: store, keepBytes: false) }
            let reference = try referenceName(annotation: entry.annotations?["org.opencontainers.image.ref.name"], name: name)
            imported.append(try store.tag(reference, manifest: manifestDescriptor.digest))
        }
        guard !imported.isEmpty else { throw BerthError(.badRequest, "no images in \(directory)/index.json") }
        return imported
    }

    /// Writes one image as an OCI layout directory (created if missing).
    public static func export(_ image: LocalImage, to directory: String, from store: ImageStore) throws(BerthError) {
        try PosixFS.makeDirectories("\(directory)/blobs/sha256")
        let blobs = [image.manifestDigest, image.configDigest] + image.manifest.layers.map(\.digest)
        for digest in blobs {
            let target = "\(directory)/blobs/\(digest.algorithm)/\(digest.hex)"
            if !PosixFS.exists(target) { try copyFile(store.content.path(for: digest), to: target) }
        }
        try PosixFS.writeAtomically("\(directory)/oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        let manifestSize = store.content.size(of: image.manifestDigest) ?? 0
        let tag = (try? ImageReference(parsing: image.reference))?.tag ?? "latest"
        let index = ImageIndex(manifests: [Descriptor(
            mediaType: image.manifest.mediaType ?? MediaType.ociManifest, digest: image.manifestDigest, size: manifestSize,
            annotations: ["org.opencontainers.image.ref.name": tag, "io.containerd.image.name": image.reference])])
        try PosixFS.writeAtomically("\(directory)/index.json", Array(try JSONCoding.encode(index)))
    }

    private static func selectManifest(_ entry: Descriptor, directory: String, store: ImageStore) throws(BerthError) -> Descriptor {
        guard MediaType.isIndex(entry.mediaType) else { return entry }
        let bytes = try copyBlob(entry, from: directory, into: store)
        let nested = try JSONCoding.decode(ImageIndex.self, from: Data(bytes))
        guard let chosen = nested.manifest(for: .host) else {
            throw BerthError(.notFound, "no \(Platform.host.os)/\(Platform.host.architecture) image in index \(entry.digest)")
        }
        return chosen
    }

    private static func referenceName(annotation: String?, name: String?) throws(BerthError) -> ImageReference {
        if let annotation, annotation.contains("/") || annotation.contains(":") { return try ImageReference(parsing: annotation) }
        if let name {
            var reference = try ImageReference(parsing: name)
            if let annotation, !name.contains(":") { reference.tag = annotation }
            return reference
        }
        if let annotation { return try ImageReference(parsing: annotation) }
        throw BerthError(.badRequest, "the layout does not name its image: pass a name")
    }

    /// Copies a blob into the content store, verifying digest and size on the way.
    private static func copyBlob(_ descriptor: Descriptor, from directory: String, into store: ImageStore, keepBytes: Bool = true) throws(BerthError) -> [UInt8] {
        let source = "\(directory)/blobs/\(descriptor.digest.algorithm)/\(descriptor.digest.hex)"
        if store.content.contains(descriptor.digest) { return keepBytes ? try store.content.read(descriptor.digest) : [] }
        let writer = try BlobWriter(store: store.content, algorithm: descriptor.digest.algorithm)
        let file = try FileByteSource(path: source)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var kept: [UInt8] = []
        while true {
            let count = try chunk.withMutableBytes { (raw) throws(BerthError) in try file.read(into: raw) }
            if count == 0 { break }
            try chunk.withBytes { (raw) throws(BerthError) in try writer.append(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
            if keepBytes { kept.append(contentsOf: chunk[0..<count]) }
        }
        _ = try writer.commit(expected: descriptor.digest, expectedSize: descriptor.size)
        return kept
    }

    private static func copyFile(_ source: String, to target: String) throws(BerthError) {
        try PosixFS.writeAtomically(target, try PosixFS.readAll(source, limit: 1 << 34))
    }
}
