import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The python `kubernetes` client (Debian's python3-kubernetes) against `berth server`: a user
/// from `berth user create` with `edit` in one namespace creates a Deployment there, gets 403 in
/// another and lists only that namespace; a ServiceAccount token from `kubectl create token`
/// reads pods where a RoleBinding allows and gets 403 elsewhere; a tenant's owner lists only the
/// tenant's namespaces.
@Suite("python kubernetes client", .serialized, .blockingAllowed)
struct PythonClientTests {
    static let python = "/usr/bin/python3"

    static let script = """
        import json, sys
        from kubernetes import client, config
        from kubernetes.client.rest import ApiException
        mode, target = sys.argv[1], sys.argv[2]
        if mode == "kubeconfig":
            config.load_kube_config(config_file=target)
            api = client.ApiClient()
        else:
            settings = client.Configuration()
            settings.host, settings.ssl_ca_cert = sys.argv[3], sys.argv[4]
            settings.api_key = {"authorization": "Bearer " + open(target).read().strip()}
            api = client.ApiClient(settings)
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        out = {}
        def attempt(name, call):
            try:
                call()
                out[name] = "ok"
            except ApiException as error:
                out[name] = error.status
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                      "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                               "template": {"metadata": {"labels": {"app": "web"}},
                                            "spec": {"containers": [{"name": "c", "image": "berth/busybox:latest"}]}}}}
        attempt("create_in_a", lambda: apps.create_namespaced_deployment("a", deployment))
        attempt("create_in_b", lambda: apps.create_namespaced_deployment("b", deployment))
        attempt("pods_in_a", lambda: core.list_namespaced_pod("a"))
        attempt("pods_in_b", lambda: core.list_namespaced_pod("b"))
        try:
            out["namespaces"] = sorted(n.metadata.name for n in core.list_namespace().items)
        except ApiException as error:
            out["namespaces"] = error.status
        print(json.dumps(out))
        """

    func run(_ arguments: [String], directory: String) throws -> JSONValue {
        try Self.script.write(toFile: directory + "/client.py", atomically: true, encoding: .utf8)
        let result = try runCommand(Self.python, [directory + "/client.py"] + arguments)
        #expect(result.status == 0, "\(result.error)")
        return try JSONParser.parse(Array(result.output.utf8))
    }

    @Test func userServiceAccountAndTenantOwner() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-python-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
        }
        for user in ["alice", "olga"] {
            let made = try runCommand(BerthServerProcess.binary, ["user", "create", user, "--kubeconfig-out", "\(directory)/\(user).kubeconfig",
                                                                  "--data-dir", server.dataDirectory])
            #expect(made.status == 0, "\(made.error)")
        }
        for namespace in ["a", "b"] { #expect(try kubectl(["create", "namespace", namespace]).status == 0) }
        #expect(try kubectl(["create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice", "-n", "a"]).status == 0)

        let alice = try run(["kubeconfig", "\(directory)/alice.kubeconfig"], directory: directory)
        #expect(alice["create_in_a"] == "ok" && alice["create_in_b"] == 403 && alice["pods_in_a"] == "ok" && alice["pods_in_b"] == 403, "\(alice)")
        #expect(alice["namespaces"] == ["a"], "\(alice)")

        // A ServiceAccount token (a robot): view in b only.
        #expect(try kubectl(["create", "serviceaccount", "bot", "-n", "b"]).status == 0)
        #expect(try kubectl(["create", "rolebinding", "bot-view", "--clusterrole=view", "--serviceaccount=b:bot", "-n", "b"]).status == 0)
        let token = try kubectl(["create", "token", "bot", "-n", "b", "--duration", "1h"])
        try token.output.write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        let address = try kubectl(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.server}"]).output
        let ca = try kubectl(["config", "view", "--raw", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}"]).output
        try Data(base64Encoded: ca)!.write(to: URL(fileURLWithPath: directory + "/ca.crt"))
        let bot = try run(["token", directory + "/token", address, directory + "/ca.crt"], directory: directory)
        #expect(bot["pods_in_b"] == "ok" && bot["pods_in_a"] == 403 && bot["create_in_b"] == 403, "\(bot)")

        // A tenant's owner lists the tenant's namespaces.
        let tenant = "apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: ops}\nspec: {owners: [{kind: User, name: olga}], namespaces: [b]}\n"
        #expect(try kubectl(["apply", "-f", "-"], input: tenant).status == 0)
        let olga = try run(["kubeconfig", "\(directory)/olga.kubeconfig"], directory: directory)
        #expect(olga["namespaces"] == ["b"] && olga["pods_in_b"] == "ok" && olga["create_in_a"] == 403, "\(olga)")
    }
}
