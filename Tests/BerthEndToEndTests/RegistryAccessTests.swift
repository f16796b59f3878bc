import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension RegistryEndToEnd {
    /// Who may pull and push, decided by RBAC on `repositories.registry.berth.dev`: a robot
    /// (a ServiceAccount with `kubectl create token`) allowed to push one repository, a pull-only
    /// account, anonymous pulls of a public namespace, and a catalog filtered to what the caller
    /// may see. podman and skopeo log in with a Berth token as password (Basic, then the token flow).
    @Suite("Registry access", .blockingAllowed)
    struct RegistryAccessTests {
        @Test func robotsReadersAndPublicNamespaces() async throws {
            let fixture = RegistryFixture()
            defer { fixture.cleanUp() }
            try await fixture.start()
            let setup = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: team-a}
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: team-b}
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: robot, namespace: team-a}
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: reader, namespace: team-a}
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: Role
            metadata: {name: push-app, namespace: team-a}
            rules:
            - apiGroups: [registry.berth.dev]
              resources: [repositories]
              resourceNames: [app]
              verbs: [get, create, update]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: robot-pushes-app, namespace: team-a}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: push-app}
            subjects: [{kind: ServiceAccount, name: robot, namespace: team-a}]
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: RoleBinding
            metadata: {name: reader-views, namespace: team-a}
            roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
            subjects: [{kind: ServiceAccount, name: reader, namespace: team-a}]
            """
            let applied = try fixture.kubectl(["apply", "-f", "-"], input: setup)
            try #require(applied.status == 0, "\(applied.error)")
            func token(_ account: String) throws -> String {
                let result = try fixture.kubectl(["create", "token", account, "-n", "team-a"])
                try #require(result.status == 0, "\(result.error)")
                return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let robot = try token("robot"), reader = try token("reader")
            let image = try fixture.layout("image", layers: 2, layerBytes: 50_000)
            func push(_ repository: String, as credential: String?) async throws -> CommandResult {
                try await fixture.copy("oci:\(image):latest", "docker://\(fixture.host)/\(repository):v1", destinationCredential: credential)
            }
            func pull(_ repository: String, as credential: String?) async throws -> CommandResult {
                let target = fixture.work + "/pulled-\(UUID().uuidString)"
                defer { try? FileManager.default.removeItem(atPath: target) }
                return try await fixture.copy("docker://\(fixture.host)/\(repository):v1", "oci:\(target):v1", sourceCredential: credential)
            }

            let allowed = try await push("team-a/app", as: robot)
            #expect(allowed.status == 0, "the robot pushes team-a/app: \(allowed.error)")
            let otherRepository = try await push("team-a/other", as: robot)
            #expect(otherRepository.status != 0 && otherRepository.error.contains("403"), "\(otherRepository.error)")
            let otherNamespace = try await push("team-b/app", as: robot)
            #expect(otherNamespace.status != 0 && otherNamespace.error.contains("403"), "\(otherNamespace.error)")
            #expect(try await push("team-b/app", as: fixture.token).status == 0, "the admin pushes anywhere")

            #expect(try await pull("team-a/app", as: reader).status == 0, "view pulls")
            let readerPush = try await push("team-a/app", as: reader)
            #expect(readerPush.status != 0 && readerPush.error.contains("denied"), "view does not push: \(readerPush.error)")
            #expect(try await pull("team-b/app", as: reader).status != 0)

            // Raw answers: a refused caller gets DENIED naming the RBAC rule it lacks; anonymous, a challenge.
            let denied = try fixture.curl("GET", "/v2/team-b/app/manifests/v1", as: .basic(reader))
            #expect(denied.code == 403 && denied.errorCode == "DENIED")
            let message = denied.json?["errors"]?.arrayValue?.first?["message"]?.stringValue ?? ""
            #expect(message.contains("system:serviceaccount:team-a:reader") && message.contains("repositories.registry.berth.dev"), "\(message)")
            let anonymous = try fixture.curl("GET", "/v2/team-a/app/manifests/v1", as: .none)
            #expect(anonymous.code == 401 && anonymous.errorCode == "UNAUTHORIZED")
            #expect(anonymous.headers["www-authenticate"] == "Bearer realm=\"https://\(fixture.host)/v2/token\",service=\"berth-registry\",scope=\"repository:team-a/app:pull\"")
            #expect(try fixture.curl("GET", "/v2/team-a/app/manifests/v1", as: .basic("not-a-token")).code == 401)

            // The token flow: Basic at /v2/token gives a short-lived token that works as Bearer.
            let issued = try fixture.curl("GET", "/v2/token?service=berth-registry&scope=repository:team-a/app:pull", as: .basic(robot))
            let registryToken = try #require(issued.json?["token"]?.stringValue)
            #expect(issued.json?["expires_in"]?.intValue == 300)
            #expect(try fixture.curl("GET", "/v2/team-a/app/tags/list", as: .bearer(registryToken)).json?["tags"] == ["v1"])
            #expect(try fixture.curl("GET", "/api/v1/namespaces", as: .bearer(registryToken)).code == 401, "a registry token is not an API credential")

            // The catalog shows what the caller may pull.
            #expect(try fixture.curl("GET", "/v2/_catalog", as: .basic(robot)).json?["repositories"] == ["team-a/app"])
            #expect(try fixture.curl("GET", "/v2/_catalog").json?["repositories"] == ["team-a/app", "team-b/app"])
            let paged = try fixture.curl("GET", "/v2/_catalog?n=1")
            #expect(paged.json?["repositories"] == ["team-a/app"] && paged.headers["link"] == "</v2/_catalog?n=1&last=team-a/app>; rel=\"next\"")

            // A public namespace: anyone pulls, nobody pushes anonymously.
            #expect(try await pull("team-a/app", as: nil).status != 0)
            #expect(try fixture.kubectl(["label", "namespace", "team-a", "registry.berth.dev/public=true"]).status == 0)
            let publicPull = try await pull("team-a/app", as: nil)
            #expect(publicPull.status == 0, "anonymous pull of a public namespace: \(publicPull.error)")
            #expect(try await push("team-a/app", as: nil).status != 0)
            #expect(try await pull("team-b/app", as: nil).status != 0)
        }

        @Test func podmanLogsInPushesAndPulls() async throws {
            let fixture = RegistryFixture()
            defer { fixture.cleanUp() }
            try await fixture.start()
            let image = try fixture.layout("podman", layers: 2, layerBytes: 100_000, seed: 7)
            let reference = "\(fixture.host)/default/podman-app:v1"
            let authFile = fixture.work + "/auth.json"
            func podman(_ arguments: [String]) throws -> CommandResult {
                try runCommand("/usr/bin/podman", arguments, timeout: 180)
            }
            defer { _ = try? podman(["rmi", "-f", reference]) }
            let loggedIn = try runCommand("/bin/sh", ["-c", "printf %s \"$1\" | /usr/bin/podman login --authfile \"$2\" --tls-verify=false -u ci --password-stdin \"$3\"",
                                                      "sh", fixture.token, authFile, fixture.host])
            try #require(loggedIn.status == 0, "podman login: \(loggedIn.error)")
            let imported = try podman(["pull", "-q", "oci:\(image):latest"])
            try #require(imported.status == 0, "\(imported.error)")
            let id = imported.output.trimmingCharacters(in: .whitespacesAndNewlines)
            defer { _ = try? podman(["rmi", "-f", id]) }
            let pushed = try podman(["push", "--authfile", authFile, "--tls-verify=false", id, reference])
            #expect(pushed.status == 0, "podman push: \(pushed.error)")
            _ = try podman(["rmi", "-f", id])
            let pulled = try podman(["pull", "--authfile", authFile, "--tls-verify=false", reference])
            #expect(pulled.status == 0, "podman pull: \(pulled.error)")
            #expect(pulled.output.contains(String(id.prefix(12))), "the same image comes back: \(pulled.output)")
            let refused = try podman(["pull", "--tls-verify=false", "--creds", "ci:wrong", reference])
            #expect(refused.status != 0)
        }

        @Test func storageQuota() async throws {
            let fixture = RegistryFixture()
            defer { fixture.cleanUp() }
            try await fixture.start()
            let quota = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: small}
            ---
            apiVersion: v1
            kind: ResourceQuota
            metadata: {name: registry, namespace: small}
            spec: {hard: {registry.berth.dev/storage: 1Mi}}
            """
            #expect(try fixture.kubectl(["apply", "-f", "-"], input: quota).status == 0)
            _ = try await waitFor("the quota counted", timeout: 30) { () -> String? in
                let used = try fixture.kubectl(["get", "quota", "registry", "-n", "small", "-o", "jsonpath={.status.used.registry\\.berth\\.dev/storage}"]).output
                return used.isEmpty ? nil : used
            }
            let first = try fixture.layout("first", layers: 2, layerBytes: 300_000, seed: 11)
            let second = try fixture.layout("second", layers: 2, layerBytes: 300_000, seed: 12)
            let fits = try await fixture.copy("oci:\(first):latest", "docker://\(fixture.host)/small/app:v1", destinationCredential: fixture.token)
            #expect(fits.status == 0, "\(fits.error)")
            // The same blobs in a second repository of the namespace are not counted again.
            #expect(try await fixture.copy("oci:\(first):latest", "docker://\(fixture.host)/small/copy:v1", destinationCredential: fixture.token).status == 0)
            let over = try await fixture.copy("oci:\(second):latest", "docker://\(fixture.host)/small/app:v2", destinationCredential: fixture.token)
            #expect(over.status != 0 && over.error.contains("exceeded quota: registry"), "\(over.error)")
            let used = try fixture.kubectl(["get", "quota", "registry", "-n", "small", "-o", "jsonpath={.status.used.registry\\.berth\\.dev/storage}"]).output
            let firstBytes = RegistryFixture.blobs(first).compactMap { blob -> Int? in
                guard blob != (try? RegistryGarbageCollectionTests.manifestDigest(first)) else { return nil }
                return (try? FileManager.default.attributesOfItem(atPath: "\(first)/blobs/sha256/\(blob)")[.size] as? Int) ?? 0
            }.reduce(0, +)
            // The first image's config and layers once, and whatever of the second fitted before the
            // refusal (its layers race; the collector takes them back later): never over the limit.
            #expect((Int(used) ?? 0) >= firstBytes && (Int(used) ?? 0) <= 1 << 20, "used \(used), the first image \(firstBytes)")
            // The refusal in the protocol's words, and nothing stored for the refused push.
            let blob = [UInt8](repeating: 7, count: 900_000)
            let refused = try fixture.curl("POST", "/v2/small/app/blobs/uploads/?digest=\(RegistryFixture.sha256(blob))", body: blob)
            #expect(refused.code == 403 && refused.errorCode == "DENIED", "\(String(decoding: refused.body, as: UTF8.self))")
            #expect(try fixture.curl("HEAD", "/v2/small/app/blobs/\(RegistryFixture.sha256(blob))").code == 404)
            #expect(try fixture.curl("GET", "/v2/small/app/tags/list").json?["tags"] == ["v1"])
            #expect(try fixture.kubectl(["get", "quota", "registry", "-n", "small", "-o", "jsonpath={.status.used.registry\\.berth\\.dev/storage}"]).output == used)
        }
    }
}
