import BerthCore
import BerthImages
import BerthRegistry
import BerthStore
import BerthTestSupport
import Foundation
import Testing

/// The registry's pure parts: names, routes, manifests as pushed.
@Suite("Registry names, routes and manifests", .blockingAllowed)
struct RegistryCoreTests {
    @Test func repositoryNames() throws {
        let name = try RepositoryName("team-a/tools/app")
        #expect(name.namespace == "team-a" && name.name == "tools/app")
        for valid in ["a/b", "team-a/app.v2", "x/a__b", "x/a--b", "ns/a_b/c-d"] { #expect(throws: Never.self) { try RepositoryName(valid) } }
        for invalid in ["app", "ns/../x", "ns//x", "Ns/app", "ns/_x", "ns/x_", "ns/a___b", "ns/.x", "/ns/x", "ns/x/", "a.b/app", String(repeating: "a", count: 64) + "/x",
                        "ns/" + String(repeating: "a", count: 260)] {
            #expect(throws: BerthError.self, "\(invalid)") { try RepositoryName(invalid) }
            #expect((try? RepositoryName(invalid)) == nil)
        }
        do { _ = try RepositoryName("ns/../etc") } catch { #expect(error.ociCode == "NAME_INVALID") }
        #expect(TagName.isValid("v1.2-rc_3") && TagName.isValid("_x") && !TagName.isValid("-x") && !TagName.isValid(".x") && !TagName.isValid(String(repeating: "a", count: 129)))
    }

    @Test func routes() throws {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        #expect(try RegistryRoute(path: "/v2/") == .base)
        #expect(try RegistryRoute(path: "/v2") == .base)
        #expect(try RegistryRoute(path: "/v2/token") == .token)
        #expect(try RegistryRoute(path: "/v2/_catalog") == .catalog)
        #expect(try RegistryRoute(path: "/v2/ns/app/tags/list") == .tags(try RepositoryName("ns/app")))
        #expect(try RegistryRoute(path: "/v2/ns/app/manifests/v1") == .manifest(try RepositoryName("ns/app"), reference: "v1"))
        // A repository may itself be called "blobs": parsed from the end.
        #expect(try RegistryRoute(path: "/v2/ns/blobs/manifests/latest") == .manifest(try RepositoryName("ns/blobs"), reference: "latest"))
        #expect(try RegistryRoute(path: "/v2/ns/app/blobs/\(digest)") == .blob(try RepositoryName("ns/app"), try Digest(parsing: digest)))
        #expect(try RegistryRoute(path: "/v2/ns/app/blobs/uploads/") == .startUpload(try RepositoryName("ns/app")))
        #expect(try RegistryRoute(path: "/v2/ns/app/blobs/uploads/abc-123") == .upload(try RepositoryName("ns/app"), id: "abc-123"))
        #expect(try RegistryRoute(path: "/v2/ns/app/referrers/\(digest)") == .referrers(try RepositoryName("ns/app"), try Digest(parsing: digest)))
        func code(_ path: String) -> String? {
            do { _ = try RegistryRoute(path: path); return nil } catch { return error.ociCode }
        }
        #expect(code("/v2/ns/../app/manifests/v1") == "NAME_INVALID")
        #expect(code("/v2/app/manifests/v1") == "NAME_INVALID")
        #expect(code("/v2/ns/app/blobs/sha256:xyz") == "DIGEST_INVALID")
        #expect(code("/v2/ns/app/manifests/-bad") == "MANIFEST_INVALID")
        #expect(code("/v2/ns/app/blobs/uploads/../../x") != nil)
        #expect(code("/v2/ns/app/whatever/x") == "NAME_INVALID")
    }

    static let layer = "sha256:" + String(repeating: "b", count: 64)
    static let config = "sha256:" + String(repeating: "c", count: 64)

    @Test func manifests() throws {
        let manifest = """
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json",
         "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(Self.config)","size":2},
         "layers":[{"mediaType":"application/spdx+json","digest":"\(Self.layer)","size":10}],
         "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(Self.layer)","size":5},
         "annotations":{"org.example":"yes"}}
        """
        let document = try ManifestDocument(bytes: Array(manifest.utf8), contentType: "application/vnd.oci.image.manifest.v1+json")
        #expect(document.blobs.map(\.digest.description) == [Self.config, Self.layer])
        #expect(document.subject?.digest.description == Self.layer && document.artifactType == "application/spdx+json")
        #expect(document.annotations == ["org.example": "yes"])
        let index = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(Self.layer)","size":5}]}"#
        let parsed = try ManifestDocument(bytes: Array(index.utf8), contentType: nil)
        #expect(parsed.mediaType == MediaType.ociIndex && parsed.manifests.count == 1 && parsed.blobs.isEmpty)
        func code(_ text: String, _ type: String? = nil) -> String? {
            do { _ = try ManifestDocument(bytes: Array(text.utf8), contentType: type); return nil } catch { return error.ociCode }
        }
        #expect(code("not json") == "MANIFEST_INVALID")
        #expect(code(#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#) == "MANIFEST_INVALID", "Docker schema 1")
        #expect(code(manifest, MediaType.dockerManifest) == "MANIFEST_INVALID", "Content-Type and mediaType disagree")
        #expect(code(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:zz","size":1,"mediaType":"x"}}"#) == "MANIFEST_INVALID")
        #expect(code(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#) == "MANIFEST_INVALID", "no config")
        #expect(code(String(repeating: " ", count: ManifestDocument.maximumBytes + 1)) == "SIZE_INVALID")
    }
}

/// Upload sessions on disk and metadata in a real store.
@Suite("Registry storage and metadata", .blockingAllowed)
struct RegistryStorageTests {
    func withStorage(_ body: (BlobStorage, RegistryMetadata) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-registry-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = try SQLiteStore(path: root + ".db")
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: root + ".db" + suffix) } }
        try await body(try BlobStorage(root: root), RegistryMetadata(kv: store))
        await store.close()
    }

    @Test func uploadsResumeAndVerify() async throws {
        try await withStorage { storage, _ in
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let digest = Digest.sha256(of: bytes)
            let id = try storage.createUpload()
            var appender = try storage.append(to: id, at: 0)
            try bytes[0..<100_000].withUnsafeBytes { try appender.write($0) }
            // A second writer while the first one writes is refused, not interleaved.
            #expect(throws: BerthError.self) { try storage.append(to: id, at: 100_000) }
            appender.close()
            #expect(storage.uploadSize(id) == 100_000)
            // A chunk must start where the bytes end.
            do throws(BerthError) { _ = try storage.append(to: id, at: 50_000); Issue.record("a chunk at the wrong offset was taken") } catch {
                #expect(error.ociCode == "RANGE_INVALID" && error.code.httpStatus == 416)
            }
            appender = try storage.append(to: id, at: 100_000)
            try bytes[100_000...].withUnsafeBytes { try appender.write($0) }
            appender.close()
            #expect(try storage.finish(id, expected: digest) == 300_000)
            #expect(storage.content.contains(digest) && storage.uploadSize(id) == nil)
            #expect(try PosixFS.readAll(storage.content.path(for: digest)) == bytes)

            // A mismatch publishes nothing and frees the space.
            let other = try storage.createUpload()
            let writer = try storage.append(to: other, at: 0)
            try bytes[0..<10].withUnsafeBytes { try writer.write($0) }
            writer.close()
            do throws(BerthError) { _ = try storage.finish(other, expected: digest); Issue.record("a wrong digest was accepted") } catch { #expect(error.ociCode == "DIGEST_INVALID") }
            #expect(storage.uploadSize(other) == nil)
            #expect(storage.content.all() == [digest])
        }
    }

    @Test func manifestsTagsAndReferrers() async throws {
        try await withStorage { _, metadata in
            let repository = try RepositoryName("team-a/app")
            let subject = try Digest(parsing: RegistryCoreTests.layer)
            let image = Digest.sha256(of: Array("image".utf8)), signature = Digest.sha256(of: Array("signature".utf8))
            var document = try ManifestDocument(bytes: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x/y","digest":"\#(RegistryCoreTests.config)","size":2}}"#.utf8), contentType: nil)
            try await metadata.put(ManifestRecord(document: document, size: 100, created: "t"), digest: image, tag: "v1", in: repository)
            for tag in ["v2", "a", "z", "v10"] { try await metadata.put(ManifestRecord(document: document, size: 100, created: "t"), digest: image, tag: tag, in: repository) }
            document.subject = Descriptor(mediaType: MediaType.ociManifest, digest: subject, size: 1)
            document.artifactType = "application/vnd.dev.cosign"
            try await metadata.put(ManifestRecord(document: document, size: 50, created: "t"), digest: signature, tag: nil, in: repository)
            #expect(try await metadata.tags(in: repository, after: nil, limit: 0).tags == ["a", "v1", "v10", "v2", "z"])
            let page = try await metadata.tags(in: repository, after: "v1", limit: 2)
            #expect(page.tags == ["v10", "v2"] && page.more)
            #expect(try await metadata.tags(in: repository, after: "v2", limit: 2).more == false)
            let referrers = try await metadata.referrers(of: subject, in: repository, artifactType: nil)
            #expect(referrers.count == 1 && referrers.first?["digest"]?.stringValue == signature.description && referrers.first?["artifactType"] == "application/vnd.dev.cosign")
            #expect(try await metadata.referrers(of: subject, in: repository, artifactType: "other").isEmpty)
            // Deleting the manifest takes every tag naming it; a repository of the same prefix is untouched.
            let longer = try RepositoryName("team-a/app/extra")
            try await metadata.put(ManifestRecord(document: document, size: 50, created: "t"), digest: image, tag: "keep", in: longer)
            #expect(try await metadata.deleteManifest(image, in: repository))
            #expect(try await metadata.tags(in: repository, after: nil, limit: 0).tags.isEmpty)
            #expect(try await metadata.tags(in: longer, after: nil, limit: 0).tags == ["keep"])
            #expect(try await metadata.deleteManifest(signature, in: repository))
            #expect(try await metadata.referrers(of: subject, in: repository, artifactType: nil).isEmpty)
            #expect(try await metadata.repositories(after: nil, limit: 0).names == ["team-a/app", "team-a/app/extra"])
        }
    }
}

/// Retention rules: which tags and untagged manifests a collection deletes.
@Suite("Registry retention", .blockingAllowed)
struct RegistryRetentionTests {
    func digest(_ text: String) -> Digest { Digest.sha256(of: Array(text.utf8)) }

    @Test func keepLastAndUntagged() throws {
        let rules = try RetentionRule.parse(#"[{"repositories":"app*","tags":"v*","keepLast":2,"deleteUntagged":true}]"#)
        let web = try RepositoryName("ns/app-web"), tools = try RepositoryName("ns/tools")
        #expect(rules.count == 1 && rules[0].applies(to: web) && !rules[0].applies(to: tools))
        #expect(throws: BerthError.self) { try RetentionRule.parse(#"[{"keepLast":-1}]"#) }
        #expect(throws: BerthError.self) { try RetentionRule.parse("not json") }
        let tags = [("v1", "2026-01-01T00:00:01Z"), ("v2", "2026-01-01T00:00:02Z"), ("v3", "2026-01-01T00:00:03Z"), ("latest", "2026-01-01T00:00:00Z")]
            .map { ($0.0, TagRecord(digest: digest($0.0), mediaType: MediaType.ociManifest, updated: $0.1)) }
        #expect(RetentionPlan.tagsToDelete(tags, rule: rules[0]) == ["v1"], "the two newest v* stay; latest is not governed")
        #expect(RetentionPlan.tagsToDelete(tags, rule: RetentionRule(keepLast: 0)) == ["latest", "v1", "v2", "v3"])
        #expect(RetentionPlan.tagsToDelete(tags, rule: RetentionRule(deleteUntagged: true)).isEmpty)

        let document = try ManifestDocument(bytes: Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x/y","digest":"\#(RegistryCoreTests.config)","size":2}}"#.utf8), contentType: nil)
        func record(_ created: String, children: [Digest] = [], subject: Digest? = nil) -> ManifestRecord {
            var value = ManifestRecord(document: document, size: 1, created: created)
            value.manifests = children
            value.subject = subject
            return value
        }
        let old = "2026-01-01T00:00:00Z", fresh = "2026-06-01T00:00:00Z"
        let manifests: [Digest: ManifestRecord] = [
            digest("tagged"): record(old), digest("orphan"): record(old), digest("recent-orphan"): record(fresh),
            digest("index"): record(old, children: [digest("child")]), digest("child"): record(old),
            digest("signature"): record(old, subject: digest("tagged")),
        ]
        let cutoff = TableCells.parseTimestamp("2026-03-01T00:00:00Z")!
        #expect(RetentionPlan.untagged(manifests, tagged: [digest("tagged"), digest("index")], cutoff: cutoff) == [digest("orphan")],
                "an index's entries, referrers and manifests younger than the window stay")
    }
}
