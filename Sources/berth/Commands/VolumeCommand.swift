import ArgumentParser
import BerthClient
import BerthCore
import BerthImages
import BerthStorage
import Foundation
import NIOCore

/// `berth volume backup|restore`: a claim's snapshot as an OCI artifact in a registry (the
/// built-in one by default credentials), so backups get the registry's permissions and
/// replication; and back into a new claim. Both run on the node that holds (or will hold) the
/// snapshot's data, like `berth image push`.
struct VolumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "volume", abstract: "Back claims up to a registry and restore them.",
                                                    subcommands: [Backup.self, Restore.self])

    static let artifactType = "application/vnd.berth.volume.snapshot.v1"
    static let configType = "application/vnd.berth.volume.config.v1+json"
    static func layerType(driver: String) -> String {
        driver == StorageNames.glusterProvisioner ? "application/vnd.berth.volume.snapshot.v1.tar" : "application/vnd.berth.volume.snapshot.v1.ext4"
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "backup", abstract: "Snapshot a claim and push the snapshot to a registry as an OCI artifact.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The claim to back up.") var claim: String
        @Option(help: "Where to push, e.g. 127.0.0.1:6443/team-a/db-backup:2026-12-07.") var to: String
        @Option(help: "Registry user name for a registry other than the cluster's (password from BERTH_REGISTRY_PASSWORD).") var username: String?
        @Option(help: "Seconds to wait for the snapshot.") var timeout: Double = 300

        func run() async throws {
            try await reportingErrors {
                try await client.withClient { api in
                    let namespace = client.effectiveNamespace(api)
                    let destination = try ImageReference(parsing: to)
                    let name = "backup-\(claim)-\(Int(Date().timeIntervalSince1970))"
                    let snapshot: JSONValue = ["apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": ["name": .string(name)],
                                               "spec": ["source": ["persistentVolumeClaimName": .string(claim)]]]
                    let path = "/apis/snapshot.storage.k8s.io/v1/namespaces/\(namespace)/volumesnapshots"
                    _ = try await api.request(.POST, path, body: JSONWriter.bytes(snapshot)).checked()
                    // The snapshot is only the way to a consistent copy: it goes once pushed, or failed.
                    do {
                        try await push(api, snapshotPath: "\(path)/\(name)", namespace: namespace, destination: destination)
                    } catch {
                        _ = try? await api.request(.DELETE, "\(path)/\(name)")
                        throw error
                    }
                    _ = try? await api.request(.DELETE, "\(path)/\(name)")
                }
            }
        }

        func push(_ api: APIClient, snapshotPath: String, namespace: String, destination: ImageReference) async throws {
            let content = try await VolumeCommand.waitForContent(api, snapshotPath: snapshotPath, timeout: timeout)
            guard let handle = SnapshotPlanner.handle(content.value(at: ["status", "snapshotHandle"])?.stringValue),
                  FileManager.default.fileExists(atPath: handle.path) else {
                let node = SnapshotPlanner.handle(content.value(at: ["status", "snapshotHandle"])?.stringValue)?.node ?? "?"
                throw BerthError(.invalid, "the snapshot's data is on node \(node): run `berth volume backup` there")
            }
            let driver = content.value(at: ["spec", "driver"])?.stringValue ?? StorageNames.localProvisioner
            let size = content.value(at: ["status", "restoreSize"])?.intValue ?? 0
            let (layerDigest, layerSize) = try VolumeCommand.digest(of: handle.path)
            let config = JSONWriter.bytes(["claim": .string(claim), "namespace": .string(namespace), "driver": .string(driver),
                                           "restoreSize": .number(String(size))])
            let configDigest = Digest.sha256(of: config)
            let remote = try VolumeCommand.registry(for: destination, kubeconfig: client.kubeconfig, username: username)
            defer { Task { await remote.shutdown() } }
            let repository = destination.repository
            if try await !remote.hasBlob(repository, layerDigest) {
                try await remote.uploadBlob(repository, layerDigest, file: handle.path, size: layerSize)
            }
            let configFile = NSTemporaryDirectory() + "berth-volume-config-\(UUID().uuidString)"
            FileManager.default.createFile(atPath: configFile, contents: Data(config))
            defer { unlink(configFile) }
            if try await !remote.hasBlob(repository, configDigest) {
                try await remote.uploadBlob(repository, configDigest, file: configFile, size: Int64(config.count))
            }
            let manifest: JSONValue = [
                "schemaVersion": 2, "mediaType": .string(MediaType.ociManifest), "artifactType": .string(VolumeCommand.artifactType),
                "config": ["mediaType": .string(VolumeCommand.configType), "digest": .string(configDigest.description), "size": .number(String(config.count))],
                "layers": [["mediaType": .string(VolumeCommand.layerType(driver: driver)), "digest": .string(layerDigest.description),
                            "size": .number(String(layerSize))]],
                "annotations": ["org.opencontainers.image.created": .string(TableCells.formatTimestamp(Date())),
                                "dev.berth.volume.claim": .string("\(namespace)/\(claim)")],
            ]
            let tag = destination.tag ?? "latest"
            try await remote.putManifest(repository, tag, mediaType: MediaType.ociManifest, bytes: JSONWriter.bytes(manifest))
            print("backed up \(namespace)/\(claim) to \(destination) (\(layerSize) bytes, \(layerDigest))")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "restore", abstract: "Pull a volume backup and restore it into a new claim.")
        @OptionGroup var client: ClientOptions
        @Argument(help: "The backup, e.g. 127.0.0.1:6443/team-a/db-backup:2026-12-07.") var from: String
        @Option(help: "The claim to create.") var claim: String
        @Option(help: "This node's name: the backup's data is kept here, and a local volume is made here.") var node: String
        @Option(help: "This node's data directory (berth up --data-dir DIR: DIR/node; berth agent --data-dir DIR: DIR/node).") var dataDir = DataDirectory.standard + "/node"
        @Option(help: "The new claim's StorageClass (default: local for a local backup).") var storageClass: String?
        @Option(help: "The new claim's size (default: the backup's).") var size: String?
        @Option(help: "Registry user name for a registry other than the cluster's (password from BERTH_REGISTRY_PASSWORD).") var username: String?

        func run() async throws {
            try await reportingErrors {
                try await client.withClient { api in
                    let namespace = client.effectiveNamespace(api)
                    let source = try ImageReference(parsing: from)
                    let remote = try VolumeCommand.registry(for: source, kubeconfig: client.kubeconfig, username: username)
                    defer { Task { await remote.shutdown() } }
                    guard let (_, bytes) = try await remote.manifest(source.repository, source.tag ?? source.digest?.description ?? "latest"),
                          let manifest = try? JSONParser.parse(bytes), manifest["artifactType"]?.stringValue == VolumeCommand.artifactType,
                          let layer = manifest["layers"]?.arrayValue?.first, let layerDigest = try? Digest(parsing: layer["digest"]?.stringValue ?? ""),
                          let configDigest = try? Digest(parsing: manifest["config"]?["digest"]?.stringValue ?? "") else {
                        throw BerthError(.notFound, "\(from) is not a Berth volume backup")
                    }
                    var configBytes: [UInt8] = []
                    try await remote.downloadBlob(source.repository, configDigest) { (buffer: ByteBuffer) throws(BerthError) in configBytes += Array(buffer.readableBytesView) }
                    let config = (try? JSONParser.parse(configBytes)) ?? [:]
                    let driver = config["driver"]?.stringValue ?? StorageNames.localProvisioner
                    let restoreSize = config["restoreSize"]?.intValue ?? 0
                    let directory = dataDir + "/snapshots"
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                    let archive = "\(directory)/restore-\(layerDigest.hex.prefix(16))" + (driver == StorageNames.glusterProvisioner ? ".tar" : ".img")
                    if !FileManager.default.fileExists(atPath: archive) {
                        FileManager.default.createFile(atPath: archive + ".partial", contents: nil)
                        guard let file = FileHandle(forWritingAtPath: archive + ".partial") else { throw BerthError(.internalError, "cannot write \(archive)") }
                        var hasher = DigestHasher(algorithm: "sha256")
                        try await remote.downloadBlob(source.repository, layerDigest) { (buffer: ByteBuffer) throws(BerthError) in
                            let chunk = Array(buffer.readableBytesView)
                            hasher.update(chunk)
                            file.write(Data(chunk))
                        }
                        try? file.close()
                        guard hasher.finalize() == layerDigest else {
                            unlink(archive + ".partial")
                            throw BerthError(.invalid, "the backup's data does not match its digest \(layerDigest)")
                        }
                        rename(archive + ".partial", archive)
                    }
                    // A pre-provisioned snapshot of the archive (this node's agent marks it ready),
                    // then the claim restored from it.
                    let snapshotName = "restore-\(claim)"
                    let contentName = "restore-\(namespace)-\(claim)-\(layerDigest.hex.prefix(8))"
                    let content: JSONValue = [
                        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
                        "metadata": ["name": .string(contentName), "annotations": .object([SnapshotPlanner.restoreSizeAnnotation: .string(String(restoreSize))])],
                        "spec": ["driver": .string(driver), "deletionPolicy": "Delete", "source": ["snapshotHandle": .string("\(node):\(archive)")],
                                 "volumeSnapshotRef": ["kind": "VolumeSnapshot", "namespace": .string(namespace), "name": .string(snapshotName)]],
                    ]
                    _ = try await api.request(.POST, "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents", body: JSONWriter.bytes(content)).checked()
                    let snapshot: JSONValue = ["apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": ["name": .string(snapshotName)],
                                               "spec": ["source": ["volumeSnapshotContentName": .string(contentName)]]]
                    _ = try await api.request(.POST, "/apis/snapshot.storage.k8s.io/v1/namespaces/\(namespace)/volumesnapshots", body: JSONWriter.bytes(snapshot)).checked()
                    let className = storageClass ?? (driver == StorageNames.localProvisioner ? StorageNames.defaultClass : nil)
                    guard let className else { throw BerthError(.invalid, "a \(driver) backup needs --storage-class (a class of that provisioner)") }
                    let requested = size ?? String(restoreSize)
                    let newClaim: JSONValue = [
                        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": ["name": .string(claim)],
                        "spec": ["accessModes": ["ReadWriteOnce"], "storageClassName": .string(className), "resources": ["requests": ["storage": .string(requested)]],
                                 "dataSource": ["apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": .string(snapshotName)]],
                    ]
                    _ = try await api.request(.POST, "/api/v1/namespaces/\(namespace)/persistentvolumeclaims", body: JSONWriter.bytes(newClaim)).checked()
                    print("restored \(from) into claim \(namespace)/\(claim) (snapshot \(snapshotName))")
                }
            }
        }
    }

    static func waitForContent(_ api: APIClient, snapshotPath: String, timeout: Double) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let snapshot = try JSONParser.parse(try await api.request(.GET, snapshotPath).checked().body)
            if let message = snapshot.value(at: ["status", "error", "message"])?.stringValue, snapshot.value(at: ["status", "readyToUse"]) != .bool(true) {
                throw BerthError(.invalid, "the snapshot failed: \(message)")
            }
            if snapshot.value(at: ["status", "readyToUse"]) == .bool(true), let name = snapshot.value(at: ["status", "boundVolumeSnapshotContentName"])?.stringValue {
                return try JSONParser.parse(try await api.request(.GET, "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/\(name)").checked().body)
            }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw BerthError(.timeout, "the snapshot was not ready in \(Int(timeout)) s")
    }

    static func digest(of path: String) throws(BerthError) -> (Digest, Int64) {
        guard let file = FileHandle(forReadingAtPath: path) else { throw BerthError(.notFound, "cannot read \(path)") }
        defer { try? file.close() }
        var hasher = DigestHasher(algorithm: "sha256")
        var size: Int64 = 0
        while let chunk = try? file.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(Array(chunk))
            size += Int64(chunk.count)
        }
        return (hasher.finalize(), size)
    }

    /// The cluster's registry (the kubeconfig's server) with its token, or another one.
    static func registry(for reference: ImageReference, kubeconfig: String?, username: String?) throws -> RemoteRegistry {
        if let config = try? Kubeconfig.load(path: Kubeconfig.defaultPath(explicit: kubeconfig)), let url = URL(string: config.server), let host = url.host,
           "\(host):\(url.port ?? 443)" == reference.registry {
            let credential = config.token.map { RegistryCredential(registry: reference.registry, username: "berth", password: $0) }
            return try RemoteRegistry(url: config.server, credential: credential, caPEM: config.certificateAuthority)
        }
        let name = reference.registry.split(separator: ":").first.map(String.init) ?? ""
        let plain = name == "localhost" || name.hasPrefix("127.")
        let credential = username.map { RegistryCredential(registry: reference.registry, username: $0, password: ProcessInfo.processInfo.environment["BERTH_REGISTRY_PASSWORD"] ?? "") }
        return try RemoteRegistry(url: "\(plain ? "http" : "https")://\(reference.registry)", credential: credential)
    }
}
