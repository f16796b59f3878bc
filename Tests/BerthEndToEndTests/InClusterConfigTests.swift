import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The in-cluster configuration on `berth up` (a real container): every pod finds its token,
/// the cluster CA and its namespace at /var/run/secrets/kubernetes.io/serviceaccount and
/// `KUBERNETES_SERVICE_HOST/PORT`; from the pod's network namespace the `kubernetes` Service
/// reaches the API (listening on 127.0.0.1), the python client's in-cluster loader lists pods
/// with a Role allowing it and gets 403 without; `automountServiceAccountToken: false` opts out.
@Suite("in-cluster configuration", .serialized, .blockingAllowed)
struct InClusterConfigTests {
    @Test func podReachesTheAPIAsItsServiceAccount() async throws {
        let bridge = "brincl"
        // A service range of its own: other tests' agents share this host's network namespace,
        // and each one's rules would send 100.64.0.1 to its own server.
        let server = BerthServerProcess(role: "up", extraArguments: ["--node-name", "incluster-node", "--bridge-name", bridge, "--pod-subnet", "100.96.53.0/24",
                                                                     "--service-cidr", "100.71.0.0/16"])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-incluster-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
        }
        defer {
            for _ in 0..<30 {
                _ = try? kubectl(["delete", "pods", "--all", "-n", "ic", "--grace-period=1", "--wait=true", "--timeout=30s"])
                if (try? kubectl(["get", "pods", "-n", "ic", "-o", "name"]).output.isEmpty) ?? true { break }
            }
            server.stop()
            HostLeftovers.remove(dataDirectory: server.dataDirectory)
            server.cleanUp()
            HostLeftovers.removeBridge(bridge)
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        #expect(try kubectl(["get", "service", "kubernetes", "-n", "default", "-o", "jsonpath={.spec.clusterIP}:{.spec.ports[0].port}"]).output == "100.71.0.1:443")
        #expect(try kubectl(["create", "namespace", "ic"]).status == 0)
        let pods = """
            apiVersion: v1
            kind: Pod
            metadata: {name: client, namespace: ic}
            spec: {containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]}
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: quiet, namespace: ic}
            spec: {automountServiceAccountToken: false, containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]}
            """
        let created = try kubectl(["apply", "-f", "-"], input: pods)
        #expect(created.status == 0, "\(created.error)")
        let ready = try kubectl(["wait", "--for=condition=Ready", "pod/client", "pod/quiet", "-n", "ic", "--timeout=90s"])
        let described = ready.status == 0 ? "" : try kubectl(["describe", "pod", "client", "-n", "ic"]).output
        #expect(ready.status == 0, "\(ready.output) \(ready.error) \(described)")

        let mount = "/var/run/secrets/kubernetes.io/serviceaccount"
        #expect(try kubectl(["exec", "client", "-n", "ic", "--", "cat", "\(mount)/namespace"]).output == "ic")
        let token = try kubectl(["exec", "client", "-n", "ic", "--", "cat", "\(mount)/token"]).output
        let ca = try kubectl(["exec", "client", "-n", "ic", "--", "cat", "\(mount)/ca.crt"]).output
        let clusterCA = try String(contentsOfFile: server.dataDirectory + "/ca.crt", encoding: .utf8)
        #expect(ca.contains("BEGIN CERTIFICATE") && ca == clusterCA)
        try token.write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        try ca.write(toFile: directory + "/ca.crt", atomically: true, encoding: .utf8)
        let environment = try kubectl(["exec", "client", "-n", "ic", "--", "env"]).output
        #expect(environment.contains("KUBERNETES_SERVICE_HOST=100.71.0.1") && environment.contains("KUBERNETES_SERVICE_PORT=443"), "\(environment)")
        #expect(try kubectl(["exec", "quiet", "-n", "ic", "--", "ls", mount]).status != 0, "no token volume when opted out")
        #expect(try kubectl(["get", "pod", "quiet", "-n", "ic", "-o", "jsonpath={.spec.volumes}"]).output == "")

        // From the pod's network namespace, as the pod: the in-cluster loader of the python client.
        let uid = try kubectl(["get", "pod", "client", "-n", "ic", "-o", "jsonpath={.metadata.uid}"]).output
        let netns = "berth-\(uid.prefix(18))"
        let script = """
            import json
            from kubernetes import client, config
            from kubernetes.client.rest import ApiException
            config.incluster_config.InClusterConfigLoader(token_filename="\(directory)/token", cert_filename="\(directory)/ca.crt").load_and_set()
            try:
                print(json.dumps(sorted(p.metadata.name for p in client.CoreV1Api().list_namespaced_pod("ic", _request_timeout=20).items)))
            except ApiException as error:
                print(error.status)
            except Exception as error:
                print(type(error).__name__, error)
            """
        try script.write(toFile: directory + "/incluster.py", atomically: true, encoding: .utf8)
        func fromPod() throws -> CommandResult {
            try runCommand("/usr/sbin/ip", ["netns", "exec", netns, "/usr/bin/env", "KUBERNETES_SERVICE_HOST=100.71.0.1", "KUBERNETES_SERVICE_PORT=443",
                                             "/usr/bin/python3", directory + "/incluster.py"], timeout: 120)
        }
        let refused = try fromPod()
        #expect(refused.output == "403\n", "\(refused.output) \(refused.error)")
        #expect(try kubectl(["create", "role", "pod-reader", "--verb=list,get", "--resource=pods", "-n", "ic"]).status == 0)
        #expect(try kubectl(["create", "rolebinding", "default-reads-pods", "--role=pod-reader", "--serviceaccount=ic:default", "-n", "ic"]).status == 0)
        var listed = try fromPod()
        for _ in 0..<30 where listed.output != #"["client", "quiet"]"# + "\n" {
            listed = try fromPod()
            if listed.output == #"["client", "quiet"]"# + "\n" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(listed.output == #"["client", "quiet"]"# + "\n", "\(listed.output) \(listed.error)")
        // The token is bound to the pod: deleting the pod ends it.
        let whoami = try runCommand(kubectlPath, ["--server", "https://127.0.0.1:\(server.port)", "--certificate-authority", directory + "/ca.crt",
                                                  "--token", token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])
        #expect(whoami.output == "system:serviceaccount:ic:default", "\(whoami.error)")
    }
}
