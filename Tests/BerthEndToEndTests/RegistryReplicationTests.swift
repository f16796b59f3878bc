import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension RegistryEndToEnd {
    /// Two-level registries: a central Berth replicates on push to an edge `berth server`
    /// (filtered by repository and tag, incremental: a second image sharing layers sends only the
    /// new ones), on a schedule to docker-registry 2.8, pulls from docker-registry, and the edge
    /// serves a pull-through cache of the central one.
    @Suite("Registry replication", .blockingAllowed)
    struct RegistryReplicationTests {
        @Test func pushPullScheduleAndPullThrough() async throws {
            let central = RegistryFixture(), edge = RegistryFixture()
            let distribution = try DistributionRegistry()
            defer {
                central.cleanUp()
                edge.cleanUp()
                distribution.stop()
            }
            try await central.start()
            try await edge.start()
            let edgeCA = try String(contentsOfFile: edge.server.dataDirectory + "/ca.crt", encoding: .utf8)
            let centralCA = try String(contentsOfFile: central.server.dataDirectory + "/ca.crt", encoding: .utf8)
            func secret(_ name: String, token: String, ca: String) -> String {
                """
                apiVersion: v1
                kind: Secret
                metadata: {name: \(name), namespace: berth-system}
                stringData:
                  token: \(token)
                  ca.crt: |
                \(ca.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
                """
            }
            let toEdge = secret("edge", token: edge.token, ca: edgeCA) + """

            ---
            apiVersion: berth.dev/v1
            kind: RegistryReplication
            metadata: {name: to-edge}
            spec:
              mode: push
              remote: {url: "https://\(edge.host)", secretRef: {name: edge}}
              repositories: ["team-a/*"]
              tags: ["v*"]
              trigger: {onPush: true}
            """
            let applied = try central.kubectl(["apply", "-f", "-"], input: toEdge)
            try #require(applied.status == 0, "\(applied.error)")

            // On push: v1 appears on the edge; `latest` does not (the tag filter).
            let v1 = try central.layout("v1", layers: 2, layerBytes: 400_000, seed: 5)
            #expect(try await central.copy("oci:\(v1):latest", "docker://\(central.host)/team-a/app:v1", destinationCredential: central.token).status == 0)
            #expect(try await central.copy("oci:\(v1):latest", "docker://\(central.host)/team-a/app:latest", destinationCredential: central.token).status == 0)
            let centralDigest = try central.curl("HEAD", "/v2/team-a/app/manifests/v1").headers["docker-content-digest"]
            let copied = try await waitFor("v1 on the edge", timeout: 30) { () -> String? in
                try edge.curl("HEAD", "/v2/team-a/app/manifests/v1").headers["docker-content-digest"]
            }
            #expect(copied == centralDigest)
            let firstBytes = try await waitFor("status with bytes", timeout: 10) { () -> Int? in
                let status = try central.kubectl(["get", "registryreplication", "to-edge", "-o", "json"]).output
                let value = try JSONParser.parse(Array(status.utf8))
                guard value.value(at: ["status", "lagSeconds"]) != nil else { return nil }
                return value.value(at: ["status", "bytes"])?.intValue
            }
            #expect(firstBytes > 800_000)

            // Incremental: v2 shares v1's two layers and adds one; only the new layer (and config) cross.
            let v2 = try central.layout("v2", layers: 3, layerBytes: 400_000, seed: 5)
            #expect(try await central.copy("oci:\(v2):latest", "docker://\(central.host)/team-a/app:v2", destinationCredential: central.token).status == 0)
            _ = try await waitFor("v2 on the edge", timeout: 30) { try edge.curl("HEAD", "/v2/team-a/app/manifests/v2").code == 200 ? true : nil }
            let secondBytes = try await waitFor("bytes after v2", timeout: 10) { () -> Int? in
                let value = try JSONParser.parse(Array(try central.kubectl(["get", "registryreplication", "to-edge", "-o", "json"]).output.utf8))
                let bytes = value.value(at: ["status", "bytes"])?.intValue ?? 0
                return bytes > firstBytes ? bytes : nil
            }
            #expect(secondBytes - firstBytes < 600_000, "one new layer crossed, not three: \(secondBytes - firstBytes) bytes")
            #expect(try edge.curl("GET", "/v2/team-a/app/tags/list").json?["tags"] == ["v1", "v2"])
            let table = try central.kubectl(["get", "registryreplications"]).output
            #expect(table.contains("to-edge") && table.contains("push"), "\(table)")

            // To docker-registry on a schedule: the first pass runs when the replication appears.
            let toDistribution = """
            apiVersion: berth.dev/v1
            kind: RegistryReplication
            metadata: {name: to-distribution}
            spec:
              mode: push
              remote: {url: "http://\(distribution.host)"}
              repositories: ["team-a/app"]
              trigger: {onPush: false, schedule: "*/30 * * * *"}
            """
            #expect(try central.kubectl(["apply", "-f", "-"], input: toDistribution).status == 0)
            let distributed = try await waitFor("tags in docker-registry", timeout: 30) { () -> String? in
                let tags = try runCommand("/usr/bin/curl", ["-s", "http://\(distribution.host)/v2/team-a/app/tags/list"]).output
                return tags.contains("v2") ? tags : nil
            }
            #expect(distributed.contains("latest") && distributed.contains("v1"))
            let back = central.work + "/from-distribution"
            let pulled = try await central.skopeo(["copy", "--src-tls-verify=false", "docker://\(distribution.host)/team-a/app:v2", "oci:\(back):v2"])
            #expect(pulled.status == 0 && RegistryFixture.blobs(back) == RegistryFixture.blobs(v2), "\(pulled.error)")

            // Pull from docker-registry into the central registry.
            let mirrored = try central.layout("mirrored", layers: 1, layerBytes: 100_000, seed: 77)
            #expect(try await central.skopeo(["copy", "--dest-tls-verify=false", "oci:\(mirrored):latest", "docker://\(distribution.host)/mirror/tool:1.0"]).status == 0)
            let fromDistribution = """
            apiVersion: berth.dev/v1
            kind: RegistryReplication
            metadata: {name: from-distribution}
            spec:
              mode: pull
              remote: {url: "http://\(distribution.host)"}
              repositories: ["mirror/tool"]
            """
            #expect(try central.kubectl(["apply", "-f", "-"], input: fromDistribution).status == 0)
            _ = try await waitFor("mirror/tool pulled in", timeout: 30) { try central.curl("HEAD", "/v2/mirror/tool/manifests/1.0").code == 200 ? true : nil }

            // The edge as a pull-through cache of the central registry's team-b.
            let cache = secret("central", token: central.token, ca: centralCA) + """

            ---
            apiVersion: berth.dev/v1
            kind: RegistryReplication
            metadata: {name: cache}
            spec:
              mode: pull
              remote: {url: "https://\(central.host)", secretRef: {name: central}}
              repositories: ["team-b/*"]
              pullThrough: true
            """
            #expect(try edge.kubectl(["apply", "-f", "-"], input: cache).status == 0)
            let tool = try central.layout("tool", layers: 2, layerBytes: 150_000, seed: 31)
            #expect(try await central.copy("oci:\(tool):latest", "docker://\(central.host)/team-b/tool:v1", destinationCredential: central.token).status == 0)
            #expect(try edge.curl("GET", "/v2/team-b/tool/tags/list").errorCode == "NAME_UNKNOWN", "nothing cached before the first pull")
            let throughEdge = edge.work + "/through-edge"
            let cached = try await edge.copy("docker://\(edge.host)/team-b/tool:v1", "oci:\(throughEdge):v1", sourceCredential: edge.token)
            #expect(cached.status == 0, "\(cached.error)")
            #expect(RegistryFixture.blobs(throughEdge) == RegistryFixture.blobs(tool))
            #expect(try edge.curl("GET", "/v2/team-b/tool/tags/list").json?["tags"] == ["v1"], "stored on the edge now")
            #expect(try edge.curl("GET", "/v2/team-b/missing/manifests/v1").errorCode == "MANIFEST_UNKNOWN")
        }
    }
}
