import BerthCore
import BerthRuntime

/// Builds `berth/busybox:latest` from the host's static busybox, so the quickstart and the tests
/// run a first pod without any registry. The layer is deterministic (fixed times and owners),
/// so rebuilding gives the same digests.
public enum BusyboxImage {
    public static let reference = "berth/busybox:latest"

    /// Imports the image unless it is already there; returns it.
    @discardableResult
    public static func ensure(in store: ImageStore, busybox: String = "/bin/busybox") throws(BerthError) -> LocalImage {
        let ref = try ImageReference(parsing: reference)
        if let image = try store.image(ref) { return image }
        guard PosixFS.exists(busybox) else {
            throw BerthError(.notFound, "failed to build \(reference): \(busybox) not found (apt-get install busybox-static)")
        }
        let binary = try PosixFS.readAll(busybox, limit: 64 << 20)
        let applets = try listApplets(busybox)
        var tar = TarWriter()
        for directory in ["bin", "dev", "etc", "home", "proc", "root", "sys", "usr", "usr/bin", "var", "var/run"] {
            tar.addDirectory(directory, mode: directory == "root" ? 0o700 : 0o755)
        }
        tar.addDirectory("tmp", mode: 0o1777)
        tar.addFile("bin/busybox", contents: binary, mode: 0o755)
        for applet in applets where applet != "busybox" {
            tar.addSymbolicLink("bin/\(applet)", target: "busybox")
        }
        tar.addFile("etc/passwd", contents: Array("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n".utf8))
        tar.addFile("etc/group", contents: Array("root:x:0:\nnobody:x:65534:\n".utf8))
        let layerBytes = tar.finish()
        let layerDigest = try store.content.write(layerBytes)
        let config = ImageConfiguration(
            architecture: Platform.host.architecture, os: "linux",
            config: .init(Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"]),
            diffIDs: [layerDigest], created: "1970-01-01T00:00:00Z")
        let configBytes = Array(try JSONCoding.encode(config))
        let configDigest = try store.content.write(configBytes)
        let manifest = ImageManifest(
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configBytes.count)),
            layers: [Descriptor(mediaType: MediaType.ociLayer, digest: layerDigest, size: Int64(layerBytes.count))])
        let manifestDigest = try store.content.write(Array(try JSONCoding.encode(manifest)))
        return try store.tag(ref, manifest: manifestDigest)
    }

    /// The applet names `busybox --list` prints, through the runtime's own `posix_spawn` helper
    /// (Foundation's `Process` would bring its run loop and file-handle machinery into the agent).
    private static func listApplets(_ busybox: String) throws(BerthError) -> [String] {
        let output = try Subprocess.outputBlocking(busybox, ["--list"])
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init).filter {
            !$0.isEmpty && !$0.contains("/")
        }
    }
}
