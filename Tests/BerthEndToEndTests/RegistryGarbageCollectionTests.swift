import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension RegistryEndToEnd {
    /// Garbage collection never stops the registry: while skopeo pushes and pulls in a loop,
    /// `berth registry gc` runs again and again; every push and pull succeeds, the blobs of a
    /// deleted image go (their space comes back), and nothing a live image needs is touched.
    @Suite("Registry garbage collection", .blockingAllowed)
    struct RegistryGarbageCollectionTests {
        @Test func collectsDuringAPushLoop() async throws {
            let fixture = RegistryFixture(extraArguments: ["--registry-gc-interval", "0"])
            defer { fixture.cleanUp() }
            try await fixture.start()
            func berth(_ arguments: [String]) throws -> CommandResult {
                try runCommand(BerthServerProcess.binary, arguments + ["--kubeconfig", fixture.server.kubeconfigPath])
            }
            // An image to delete: its blobs are garbage once its manifest is gone.
            let doomed = try fixture.layout("doomed", layers: 3, layerBytes: 300_000, seed: 99)
            #expect(try await fixture.copy("oci:\(doomed):latest", "docker://\(fixture.host)/gc/doomed:v1", destinationCredential: fixture.token).status == 0)
            let removed = try berth(["registry", "rm", "gc/doomed:v1"])
            #expect(removed.status == 0, "\(removed.error)")
            let doomedBlobs = RegistryFixture.blobs(doomed)
            let blobDirectory = fixture.server.dataDirectory + "/registry/blobs/sha256"
            #expect(doomedBlobs.allSatisfy { FileManager.default.fileExists(atPath: "\(blobDirectory)/\($0)") }, "a tag's deletion removes no blob")
            let dry = try berth(["registry", "gc", "--dry-run", "--grace-seconds", "0"])
            #expect(dry.output.contains("would remove 0 blobs"), "the manifest is still there (only the tag went): \(dry.output)")
            // Delete the manifest by digest: now its config and layers are unreferenced.
            let digest = try #require(try fixture.curl("HEAD", "/v2/gc/doomed/manifests/sha256:\(try Self.manifestDigest(doomed))").headers["docker-content-digest"])
            #expect(try berth(["registry", "rm", "gc/doomed@\(digest)"]).status == 0)
            try await Task.sleep(for: .seconds(3))

            // The push loop: fresh images pushed and pulled back while the collector runs.
            let layouts = try (0..<5).map { try fixture.layout("live-\($0)", layers: 2, layerBytes: 200_000, seed: 1000 + $0) }
            let loop = Task.detached { () -> [String] in
                var failures: [String] = []
                for (index, layout) in layouts.enumerated() {
                    let push = try await fixture.copy("oci:\(layout):latest", "docker://\(fixture.host)/gc/live:v\(index)", destinationCredential: fixture.token)
                    if push.status != 0 { failures.append("push \(index): \(push.error)") }
                    let back = fixture.work + "/back-\(index)"
                    let pull = try await fixture.copy("docker://\(fixture.host)/gc/live:v\(index)", "oci:\(back):v", sourceCredential: fixture.token)
                    if pull.status != 0 { failures.append("pull \(index): \(pull.error)") }
                    if RegistryFixture.blobs(back) != RegistryFixture.blobs(layout) { failures.append("pull \(index) differs") }
                }
                return failures
            }
            var collections = 0
            var freed = 0
            while !loop.isCancelled {
                let run = try berth(["registry", "gc", "--grace-seconds", "2"])
                #expect(run.status == 0, "\(run.error)")
                collections += 1
                if let number = run.output.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { freed += number }
                if collections >= 3, await Self.isDone(loop) { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let failures = try await loop.value
            #expect(failures.isEmpty, "\(failures)")
            #expect(collections >= 3)
            #expect(freed == doomedBlobs.count, "the deleted image's manifest, config and layers went: \(freed) of \(doomedBlobs.count)")
            #expect(doomedBlobs.allSatisfy { !FileManager.default.fileExists(atPath: "\(blobDirectory)/\($0)") })
            for layout in layouts {
                #expect(RegistryFixture.blobs(layout).allSatisfy { FileManager.default.fileExists(atPath: "\(blobDirectory)/\($0)") })
            }
            let after = try berth(["registry", "gc", "--grace-seconds", "0"])
            #expect(after.output.hasPrefix("removed 0 blobs"), "nothing live is garbage: \(after.output)")

            // Retention: keep the two newest v* tags of gc/live; the rest go with their blobs.
            #expect(try fixture.kubectl(["create", "namespace", "gc"]).status == 0)
            let annotated = try fixture.kubectl(["annotate", "namespace", "gc", "--overwrite",
                                                 #"registry.berth.dev/retention=[{"repositories":"live","tags":"v*","keepLast":2,"deleteUntagged":true}]"#])
            #expect(annotated.status == 0, "\(annotated.error)")
            let retained = try fixture.curl("POST", "/berth/v1/registry/gc?graceSeconds=0")
            #expect(retained.json?["tagsRemoved"]?.intValue == 3 && retained.json?["manifestsRemoved"]?.intValue == 3, "\(String(decoding: retained.body, as: UTF8.self))")
            #expect(try berth(["registry", "ls"]).output == "gc/live\n")
            #expect(try berth(["registry", "tags", "gc/live"]).output == "v3\nv4\n")
            for layout in layouts.prefix(3) {
                let layers = RegistryFixture.blobs(layout).filter { $0 != (try? Self.manifestDigest(layout)) }
                #expect(layers.allSatisfy { !FileManager.default.fileExists(atPath: "\(blobDirectory)/\($0)") }, "the retired images' blobs went")
            }
        }

        static func isDone(_ task: Task<[String], any Error>) async -> Bool {
            await withTaskGroup(of: Bool.self) { group in
                group.addTask { _ = try? await task.value; return true }
                group.addTask { try? await Task.sleep(for: .milliseconds(50)); return false }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
        }

        /// The digest of the layout's one manifest.
        static func manifestDigest(_ layout: String) throws -> String {
            let index = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: layout + "/index.json"))))
            return String(index["manifests"]?.arrayValue?.first?["digest"]?.stringValue?.dropFirst(7) ?? "")
        }

        /// `berth image push` from a node's store, `berth registry login` writing what skopeo
        /// (and podman, docker) read, and `berth registry tags|ls|rm`.
        @Test func cliPushLoginAndList() async throws {
            let fixture = RegistryFixture()
            defer { fixture.cleanUp() }
            try await fixture.start()
            func berth(_ arguments: [String]) throws -> CommandResult {
                try runCommand(BerthServerProcess.binary, arguments, timeout: 120)
            }
            let data = fixture.work + "/node-data"
            let layout = try fixture.layout("cli", layers: 2, layerBytes: 100_000, seed: 3)
            let imported = try berth(["image", "import", layout, "--data-dir", data])
            try #require(imported.status == 0, "\(imported.error)")
            let local = try #require(imported.output.split(separator: " ").dropFirst().first.map(String.init))
            let first = try berth(["image", "push", local, "\(fixture.host)/cli/app:v1", "--data-dir", data, "--kubeconfig", fixture.server.kubeconfigPath])
            #expect(first.status == 0 && first.output.contains("bytes of blobs sent"), "\(first.error)")
            let again = try berth(["image", "push", local, "\(fixture.host)/cli/app:v2", "--data-dir", data, "--kubeconfig", fixture.server.kubeconfigPath])
            #expect(again.output.contains("(0 bytes of blobs sent)"), "blobs already there are not sent again: \(again.output)")
            #expect(try berth(["registry", "tags", "cli/app", "--kubeconfig", fixture.server.kubeconfigPath]).output == "v1\nv2\n")

            let auth = fixture.work + "/auth.json", docker = fixture.work + "/docker.json", certs = fixture.work + "/certs.d"
            let login = try berth(["registry", "login", "--kubeconfig", fixture.server.kubeconfigPath, "--auth-file", auth, "--docker-config", docker,
                                   "--certificates-directories", certs])
            #expect(login.status == 0, "\(login.error)")
            let written = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: docker))))
            #expect(written.value(at: ["auths", fixture.host, "auth"])?.stringValue == Data("berth:\(fixture.token)".utf8).base64EncodedString())
            let inspect = try await fixture.skopeo(["inspect", "--authfile", auth, "--cert-dir", "\(certs)/\(fixture.host)", "docker://\(fixture.host)/cli/app:v1"])
            #expect(inspect.status == 0 && inspect.output.contains("\"v2\""), "skopeo with the written credentials and CA: \(inspect.error)")
            #expect(try berth(["registry", "rm", "cli/app:v1", "--kubeconfig", fixture.server.kubeconfigPath]).status == 0)
            #expect(try berth(["registry", "tags", "cli/app", "--kubeconfig", fixture.server.kubeconfigPath]).output == "v2\n")
            let missing = try berth(["registry", "rm", "cli/app:v9", "--kubeconfig", fixture.server.kubeconfigPath])
            #expect(missing.status != 0 && missing.error.contains("MANIFEST_UNKNOWN"), "\(missing.error)")
        }
    }
}
