import ArgumentParser
import BerthRuntime
import BerthAgent
import BerthCore
import BerthImages
import Foundation

/// `berth image import|ls|inspect|rm|prune` on this node's image store (root, like `ctr`).
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Manage the images on this node.",
        subcommands: [Pull.self, Push.self, Import.self, Export.self, List.self, Inspect.self, Tag.self, Remove.self, Prune.self])

    struct StoreOptions: ParsableArguments {
        @Option(help: "The node's data directory (berth up --data-dir).") var dataDir = DataDirectory.standard
        func store() throws -> ImageStore { try ImageStore(root: dataDir + "/node/images") }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "import", abstract: "Import an OCI layout directory (skopeo copy oci:DIR, umoci) or a docker-archive tarball (docker save).")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The OCI layout directory.") var path: String
        @Option(help: "Name for an image the layout names only by tag.") var name: String?
        func run() async throws {
            try await reportingErrors(local: true) {
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                let store = try options.store()
                let images = isDirectory.boolValue
                    ? try OCILayout.importImages(from: path, name: name, into: store)
                    : try DockerArchive.importImages(from: path, into: store)
                for image in images {
                    print("imported \(image.reference) \(image.manifestDigest)")
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "export", abstract: "Write an image as an OCI layout directory.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The image.") var image: String
        @Argument(help: "Target directory.") var path: String
        func run() async throws {
            try await reportingErrors(local: true) {
                let store = try options.store()
                guard let local = try store.image(try ImageReference(parsing: image)) else { throw BerthError(.notFound, "image \(image) not found") }
                try OCILayout.export(local, to: path, from: store)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List images.")
        @OptionGroup var options: StoreOptions
        func run() async throws {
            try await reportingErrors(local: true) {
                let images = try options.store().list()
                let rows = images.map { [$0.reference, String($0.manifestDigest.hex.prefix(12)), Self.size($0.size)] }
                printTable(["IMAGE", "DIGEST", "SIZE"], rows)
            }
        }

        static func size(_ bytes: Int64) -> String {
            bytes >= 1 << 20 ? String(format: "%.1fMB", Double(bytes) / 1_048_576) : String(format: "%.1fkB", Double(bytes) / 1024)
        }
    }

    struct Inspect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show an image's manifest and configuration.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The image.") var image: String
        func run() async throws {
            try await reportingErrors(local: true) {
                guard let local = try options.store().image(try ImageReference(parsing: image)) else { throw BerthError(.notFound, "image \(image) not found") }
                let summary: JSONValue = [
                    "reference": .string(local.reference), "digest": .string(local.manifestDigest.description),
                    "manifest": try JSONValue(encoding: local.manifest), "config": try JSONValue(encoding: local.configuration),
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data(JSONWriter.bytes(summary))), options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an image name; unused content goes with it.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The images.") var images: [String]
        func run() async throws {
            try await reportingErrors(local: true) {
                let store = try options.store()
                for image in images {
                    try store.remove(try ImageReference(parsing: image))
                    print("removed \(image)")
                }
                store.collectGarbage(keeping: Self.inUse(dataDir: options.dataDir))
            }
        }

        /// Layers mounted by containers on this node stay, whatever their image's name.
        static func inUse(dataDir: String) -> Set<Digest> {
            ImageGarbageCollector.mountedLayers(imagesDirectory: dataDir + "/node/images")
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Delete content no image name refers to.")
        @OptionGroup var options: StoreOptions
        func run() async throws {
            try await reportingErrors(local: true) {
                let removed = try options.store().collectGarbage(keeping: Remove.inUse(dataDir: options.dataDir))
                print("removed \(removed.count) blobs")
            }
        }
    }
}

extension ImageCommand {
    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pull", abstract: "Pull an image from its registry into this node's store.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "The image, e.g. nginx:1.25 or 127.0.0.1:5000/app:v1.") var image: String
        @Option(help: "Registry user name (password from BERTH_REGISTRY_PASSWORD).") var username: String?
        @Option(help: "Registries to reach over plain HTTP (loopback always is).") var insecureRegistry: [String] = []

        func run() async throws {
            try await reportingErrors(local: true) {
                let reference = try ImageReference(parsing: image)
                let client = RegistryClient(store: try options.store(), insecureRegistries: Set(insecureRegistry))
                let credentials = username.map {
                    [RegistryCredential(registry: reference.registry, username: $0, password: ProcessInfo.processInfo.environment["BERTH_REGISTRY_PASSWORD"] ?? "")]
                } ?? []
                do {
                    let pulled = try await client.pull(reference, credentials: credentials)
                    print("pulled \(pulled.reference) \(pulled.manifestDigest)")
                } catch {
                    await client.shutdown()
                    throw error
                }
                await client.shutdown()
            }
        }
    }
}

extension ImageCommand {
    struct Tag: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "tag", abstract: "Give a local image another name.")
        @OptionGroup var options: StoreOptions
        @Argument(help: "An image in this node's store.") var source: String
        @Argument(help: "The new name.") var target: String

        func run() async throws {
            try await reportingErrors(local: true) {
                let store = try options.store()
                guard let image = try store.image(try ImageReference(parsing: source)) else {
                    throw BerthError(.notFound, "image \(source) is not in this node's store")
                }
                let tagged = try store.tag(try ImageReference(parsing: target), manifest: image.manifestDigest)
                print("tagged \(tagged.reference) \(tagged.manifestDigest)")
            }
        }
    }
}
