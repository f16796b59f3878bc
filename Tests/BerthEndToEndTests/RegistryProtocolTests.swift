import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension RegistryEndToEnd {
    /// The built-in registry against real clients: skopeo pushes and pulls images bit for bit,
    /// curl speaks the raw protocol — referrers, chunked and resumed uploads, mounts, deletes —
    /// and every bad request gets its OCI error code and leaves nothing behind.
    @Suite("Registry protocol", .blockingAllowed)
    struct RegistryProtocolTests {
        @Test func pushPullTagsAndReferrers() async throws {
            let registryPort = BerthServerProcess.freePort()
            let fixture = RegistryFixture(extraArguments: ["--registry-listen", "127.0.0.1:\(registryPort)"])
            defer { fixture.cleanUp() }
            try await fixture.start()
            let source = try fixture.layout("source", layers: 3)
            for tag in ["v1", "v2"] {
                let push = try await fixture.copy("oci:\(source):latest", "docker://\(fixture.host)/default/app:\(tag)", destinationCredential: fixture.token)
                try #require(push.status == 0, "skopeo push: \(push.error)")
            }
            let back = fixture.work + "/back"
            let pull = try await fixture.copy("docker://\(fixture.host)/default/app:v1", "oci:\(back):v1", sourceCredential: fixture.token)
            try #require(pull.status == 0, "skopeo pull: \(pull.error)")
            #expect(RegistryFixture.blobs(back) == RegistryFixture.blobs(source), "every blob comes back with its digest")
            for blob in RegistryFixture.blobs(source) {
                #expect(FileManager.default.contentsEqual(atPath: "\(source)/blobs/sha256/\(blob)", andPath: "\(back)/blobs/sha256/\(blob)"))
            }

            // Tags, a page at a time.
            let first = try fixture.curl("GET", "/v2/default/app/tags/list?n=1")
            #expect(first.code == 200 && first.json?["tags"] == ["v1"])
            #expect(first.headers["link"] == "</v2/default/app/tags/list?n=1&last=v1>; rel=\"next\"")
            #expect(try fixture.curl("GET", "/v2/default/app/tags/list?n=1&last=v1").json?["tags"] == ["v2"])
            #expect(try fixture.curl("GET", "/v2/default/app/tags/list").json?["tags"] == ["v1", "v2"])
            #expect(try fixture.curl("GET", "/v2/default/nothing/tags/list").errorCode == "NAME_UNKNOWN")

            // The manifest by tag and digest, HEAD included; a blob's byte range.
            let manifest = try fixture.curl("GET", "/v2/default/app/manifests/v1", headers: ["Accept: application/vnd.oci.image.manifest.v1+json"])
            let digest = try #require(manifest.headers["docker-content-digest"])
            #expect(digest == RegistryFixture.sha256(manifest.body) && manifest.headers["content-type"] == "application/vnd.oci.image.manifest.v1+json")
            let head = try fixture.curl("HEAD", "/v2/default/app/manifests/\(digest)")
            #expect(head.code == 200 && head.headers["content-length"] == String(manifest.body.count) && head.headers["docker-content-digest"] == digest)
            let layer = try #require(try JSONParser.parse(manifest.body)["layers"]?.arrayValue?.first?["digest"]?.stringValue)
            let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(source)/blobs/sha256/\(layer.dropFirst(7))")))
            let range = try fixture.curl("GET", "/v2/default/app/blobs/\(layer)", headers: ["Range: bytes=100-1099"])
            #expect(range.code == 206 && range.body == Array(whole[100...1099]) && range.headers["content-range"] == "bytes 100-1099/\(whole.count)")
            #expect(try fixture.curl("GET", "/v2/default/app/blobs/\(layer)", headers: ["Range: bytes=\(whole.count + 5)-"]).code == 416)
            let blobHead = try fixture.curl("HEAD", "/v2/default/app/blobs/\(layer)")
            #expect(blobHead.code == 200 && blobHead.headers["content-length"] == String(whole.count))

            // An artifact that refers to the image (an SBOM), listed by the referrers API.
            let sbom = Array(#"{"spdxVersion":"SPDX-2.3","name":"app"}"#.utf8), empty = Array("{}".utf8)
            for blob in [sbom, empty] {
                let upload = try fixture.curl("POST", "/v2/default/app/blobs/uploads/?digest=\(RegistryFixture.sha256(blob))",
                                              headers: ["Content-Type: application/octet-stream"], body: blob)
                #expect(upload.code == 201 && upload.headers["docker-content-digest"] == RegistryFixture.sha256(blob))
            }
            let artifact = Array("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json",\
            "config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"\(RegistryFixture.sha256(empty))","size":2},\
            "layers":[{"mediaType":"application/spdx+json","digest":"\(RegistryFixture.sha256(sbom))","size":\(sbom.count)}],\
            "subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(digest)","size":\(manifest.body.count)},\
            "annotations":{"org.opencontainers.image.created":"2026-12-07T00:00:00Z"}}
            """.utf8)
            let artifactDigest = RegistryFixture.sha256(artifact)
            let put = try fixture.curl("PUT", "/v2/default/app/manifests/\(artifactDigest)", headers: ["Content-Type: application/vnd.oci.image.manifest.v1+json"], body: artifact)
            #expect(put.code == 201 && put.headers["oci-subject"] == digest, "\(String(decoding: put.body, as: UTF8.self))")
            let referrers = try fixture.curl("GET", "/v2/default/app/referrers/\(digest)")
            #expect(referrers.code == 200 && referrers.headers["content-type"] == "application/vnd.oci.image.index.v1+json")
            let entry = try #require(referrers.json?["manifests"]?.arrayValue?.first)
            #expect(entry["digest"]?.stringValue == artifactDigest && entry["artifactType"] == "application/spdx+json" && entry["size"]?.intValue == artifact.count)
            #expect(entry.value(at: ["annotations", "org.opencontainers.image.created"]) == "2026-12-07T00:00:00Z")
            let filtered = try fixture.curl("GET", "/v2/default/app/referrers/\(digest)?artifactType=application/vnd.dev.cosign.simplesigning.v1+json")
            #expect(filtered.json?["manifests"] == [] && filtered.headers["oci-filters-applied"] == "artifactType")
            #expect(try fixture.curl("GET", "/v2/default/app/manifests/\(artifactDigest)").body == artifact, "the artifact comes back bit for bit")
            #expect(try fixture.curl("GET", "/v2/default/app/blobs/\(RegistryFixture.sha256(sbom))").body == sbom)
            #expect(try fixture.curl("GET", "/v2/_catalog").json?["repositories"] == ["default/app"])

            // --registry-listen: the registry alone on a port of its own, same TLS and credentials.
            let separate = try await fixture.copy("oci:\(source):latest", "docker://127.0.0.1:\(registryPort)/default/app:v3", destinationCredential: fixture.token)
            #expect(separate.status == 0, "\(separate.error)")
            #expect(try fixture.curl("GET", "/v2/default/app/tags/list").json?["tags"] == ["v1", "v2", "v3"])
            let api = try runCommand("/usr/bin/curl", ["-s", "-w", "\n%{http_code}", "--cacert", fixture.server.dataDirectory + "/ca.crt",
                                                       "-H", "Authorization: Bearer \(fixture.token)", "https://127.0.0.1:\(registryPort)/api/v1/namespaces"])
            #expect(api.output.hasSuffix("\n404") && api.output.contains("NAME_UNKNOWN"), "only /v2/ there: \(api.output)")
        }

        @Test func chunkedResumedMountedDeletedAndRefused() async throws {
            let fixture = RegistryFixture()
            defer { fixture.cleanUp() }
            try await fixture.start()
            let blob = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
            let digest = RegistryFixture.sha256(blob)
            let start = try fixture.curl("POST", "/v2/team/app/blobs/uploads/")
            #expect(start.code == 202 && start.headers["range"] == "0-0")
            let location = try #require(start.headers["location"])
            let chunk = try fixture.curl("PATCH", location, headers: ["Content-Type: application/octet-stream", "Content-Range: 0-99999"], body: Array(blob[0..<100_000]))
            #expect(chunk.code == 202 && chunk.headers["range"] == "0-99999")

            // A chunk that breaks off: 50,000 of a promised 200,000 bytes, then the connection closes.
            let script = """
            import socket, ssl, sys
            context = ssl.create_default_context(cafile=sys.argv[1])
            raw = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
            conn = context.wrap_socket(raw, server_hostname="127.0.0.1")
            conn.sendall(("PATCH %s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAuthorization: Bearer %s\\r\\nContent-Type: application/octet-stream\\r\\n"
                          "Content-Range: 100000-299999\\r\\nContent-Length: 200000\\r\\n\\r\\n" % (sys.argv[3], sys.argv[4])).encode())
            conn.sendall(sys.stdin.buffer.read())
            conn.close()
            """
            let scriptPath = fixture.work + "/broken.py", piecePath = fixture.work + "/piece"
            try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
            _ = FileManager.default.createFile(atPath: piecePath, contents: Data(blob[100_000..<150_000]))
            let broken = try runCommand("/bin/sh", ["-c", "/usr/bin/python3 \(scriptPath) \(fixture.server.dataDirectory)/ca.crt \(fixture.server.port) \(location) \(fixture.token) < \(piecePath)"])
            #expect(broken.status == 0, "\(broken.error)")
            // The upload kept what arrived; the client asks how far it got and goes on from there.
            var status = try fixture.curl("GET", location)
            for _ in 0..<50 where status.headers["range"] != "0-149999" {
                try await Task.sleep(for: .milliseconds(100))
                status = try fixture.curl("GET", location)
            }
            #expect(status.code == 204 && status.headers["range"] == "0-149999")
            let stale = try fixture.curl("PATCH", location, headers: ["Content-Range: 100000-149999"], body: Array(blob[100_000..<150_000]))
            #expect(stale.code == 416 && stale.errorCode == "RANGE_INVALID", "a chunk must start where the upload ends")
            #expect(try fixture.curl("PATCH", location, headers: ["Content-Range: abc"], body: [1]).errorCode == "RANGE_INVALID")
            #expect(try fixture.curl("PATCH", location, headers: ["Content-Range: 150000-299999"], body: Array(blob[150_000...])).code == 202)
            let done = try fixture.curl("PUT", location + "?digest=\(digest)")
            #expect(done.code == 201 && done.headers["location"] == "/v2/team/app/blobs/\(digest)")
            #expect(try fixture.curl("GET", "/v2/team/app/blobs/\(digest)").body == blob)

            // A cross-repository mount takes the blob without sending it; from a repository that
            // lacks it, the answer is an ordinary upload session.
            let mounted = try fixture.curl("POST", "/v2/team/other/blobs/uploads/?mount=\(digest)&from=team/app")
            #expect(mounted.code == 201 && mounted.headers["docker-content-digest"] == digest)
            #expect(try fixture.curl("HEAD", "/v2/team/other/blobs/\(digest)").code == 200)
            let notMounted = try fixture.curl("POST", "/v2/team/third/blobs/uploads/?mount=\(digest)&from=team/none")
            #expect(notMounted.code == 202)
            let cancel = try fixture.curl("DELETE", try #require(notMounted.headers["location"]))
            #expect(cancel.code == 204)
            #expect(try fixture.curl("GET", notMounted.headers["location"]!).errorCode == "BLOB_UPLOAD_UNKNOWN")

            // Bad input: each refused with its code, nothing half-written left.
            let wrong = try fixture.curl("POST", "/v2/team/app/blobs/uploads/")
            let wrongLocation = try #require(wrong.headers["location"])
            let mismatch = try fixture.curl("PUT", wrongLocation + "?digest=\(digest)", body: Array(blob[0..<10]))
            #expect(mismatch.code == 400 && mismatch.errorCode == "DIGEST_INVALID")
            #expect(try fixture.curl("GET", wrongLocation).errorCode == "BLOB_UPLOAD_UNKNOWN", "a failed upload is gone")
            let missing = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(String(repeating: "0", count: 64))","size":10},"layers":[]}"#.utf8)
            let unknownBlob = try fixture.curl("PUT", "/v2/team/app/manifests/v1", headers: ["Content-Type: application/vnd.oci.image.manifest.v1+json"], body: missing)
            #expect(unknownBlob.code == 400 && unknownBlob.errorCode == "MANIFEST_BLOB_UNKNOWN")
            let wrongDigest = try fixture.curl("PUT", "/v2/team/app/manifests/sha256:\(String(repeating: "1", count: 64))",
                                               headers: ["Content-Type: application/vnd.oci.image.manifest.v1+json"], body: missing)
            #expect(wrongDigest.errorCode == "DIGEST_INVALID")
            #expect(try fixture.curl("PUT", "/v2/team/app/manifests/v1", headers: ["Content-Type: application/vnd.oci.image.manifest.v1+json"], body: Array("{".utf8)).errorCode == "MANIFEST_INVALID")
            #expect(try fixture.curl("GET", "/v2/team/%2E%2E/app/manifests/v1").code == 400)
            #expect(try fixture.curl("GET", "/v2/Team/app/manifests/v1").errorCode == "NAME_INVALID")
            #expect(try fixture.curl("GET", "/v2/team/app/manifests/v9").errorCode == "MANIFEST_UNKNOWN")
            #expect(try fixture.curl("GET", "/v2/team/app/blobs/sha256:\(String(repeating: "2", count: 64))").errorCode == "BLOB_UNKNOWN")
            #expect(try fixture.curl("POST", "/v2/team/app/blobs/uploads/?digest=\(digest)", headers: ["Content-Length: 99999999999999"], body: nil).code >= 400)
            #expect(try fixture.curl("GET", "/v2/team/app/tags/list?n=x").code == 400)
            let uploads = (try? FileManager.default.contentsOfDirectory(atPath: fixture.server.dataDirectory + "/registry/uploads")) ?? ["?"]
            #expect(uploads.isEmpty, "failed and finished uploads leave no file: \(uploads)")

            // Deleting: a tag, a manifest by digest (its tags go with it), a blob from one repository.
            let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.utf8)
            #expect(try fixture.curl("POST", "/v2/team/app/blobs/uploads/?digest=\(RegistryFixture.sha256(config))", body: config).code == 201)
            let image = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(RegistryFixture.sha256(config))","size":\#(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#(digest)","size":\#(blob.count)}]}"#.utf8)
            for tag in ["v1", "v2"] {
                #expect(try fixture.curl("PUT", "/v2/team/app/manifests/\(tag)", headers: ["Content-Type: application/vnd.oci.image.manifest.v1+json"], body: image).code == 201)
            }
            #expect(try fixture.curl("DELETE", "/v2/team/app/manifests/v1").code == 202)
            #expect(try fixture.curl("GET", "/v2/team/app/tags/list").json?["tags"] == ["v2"])
            #expect(try fixture.curl("DELETE", "/v2/team/app/manifests/\(RegistryFixture.sha256(image))").code == 202)
            #expect(try fixture.curl("GET", "/v2/team/app/manifests/v2").errorCode == "MANIFEST_UNKNOWN")
            #expect(try fixture.curl("DELETE", "/v2/team/other/blobs/\(digest)").code == 202)
            #expect(try fixture.curl("GET", "/v2/team/other/blobs/\(digest)").errorCode == "BLOB_UNKNOWN")
            #expect(try fixture.curl("GET", "/v2/team/app/blobs/\(digest)").code == 200, "another repository's link stays")
        }
    }
}
