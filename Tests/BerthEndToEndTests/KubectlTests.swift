import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

let kubectlPath = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"

/// A stock kubectl 1.33 against a live `berth up`.
@Suite("kubectl 1.33 end to end", .serialized, .blockingAllowed)
struct KubectlTests {
    static let kubectl = kubectlPath

    static let manifest = """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: web-config
        data:
          greeting: hello
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: web-secret
        stringData:
          password: s3cret
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          labels: {app: web}
        spec:
          replicas: 2
          selector:
            matchLabels: {app: web}
          template:
            metadata:
              labels: {app: web}
            spec:
              containers:
              - name: web
                image: berth/busybox:latest
                command: ["httpd", "-f", "-p", "8080"]
                ports: [{containerPort: 8080}]
                env:
                - name: GREETING
                  valueFrom: {configMapKeyRef: {name: web-config, key: greeting}}
                resources:
                  requests: {cpu: 100m, memory: 64Mi}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          selector: {app: web}
          ports: [{port: 80, targetPort: 8080}]
        """

    func kubectl(_ server: BerthServerProcess, _ arguments: String..., input: String? = nil) throws -> CommandResult {
        try runCommand(Self.kubectl, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
    func everydayKubectlWorkflow() async throws {
        let server = BerthServerProcess()
        defer { server.cleanUp() }
        try await server.start()

        let applied = try kubectl(server, "apply", "-f", "-", input: Self.manifest)
        #expect(applied.status == 0, "\(applied.error)")
        #expect(applied.output.contains("deployment.apps/web created"))
        #expect(applied.output.contains("service/web created"))
        #expect(applied.output.contains("configmap/web-config created"))
        #expect(applied.output.contains("secret/web-secret created"))
        let again = try kubectl(server, "apply", "-f", "-", input: Self.manifest)
        #expect(again.output.contains("configmap/web-config unchanged"))

        let table = try kubectl(server, "get", "deployments")
        let header = table.output.split(separator: "\n").first.map(String.init) ?? ""
        #expect(header.split(separator: " ", omittingEmptySubsequences: true) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"])
        // The controllers are running: READY is N/2 as pods come up.
        #expect(table.output.range(of: "web +[0-2]/2", options: .regularExpression) != nil, "\(table.output)")
        let services = try kubectl(server, "get", "svc", "web")
        #expect(services.output.contains("ClusterIP") && services.output.contains("80/TCP"))

        let yaml = try kubectl(server, "get", "deployment", "web", "-o", "yaml")
        #expect(yaml.output.contains("kind: Deployment"))
        #expect(yaml.output.contains("image: berth/busybox:latest"))

        // `get -w` sees an update made while it watches.
        let watcher = Process()
        watcher.executableURL = URL(fileURLWithPath: Self.kubectl)
        watcher.arguments = ["--kubeconfig", server.kubeconfigPath, "get", "configmap", "web-config", "-w", "-o", "jsonpath={.data.greeting}{\"\\n\"}"]
        let pipe = Pipe()
        watcher.standardOutput = pipe
        watcher.standardError = FileHandle.nullDevice
        try watcher.run()
        try await Task.sleep(for: .milliseconds(800))
        #expect(try kubectl(server, "patch", "configmap", "web-config", "--type=merge", "-p", #"{"data":{"greeting":"bonjour"}}"#).status == 0)
        var watched = ""
        for _ in 0..<50 where !watched.contains("bonjour") {
            try await Task.sleep(for: .milliseconds(100))
            watched += String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        }
        kill(watcher.processIdentifier, SIGKILL)
        watcher.waitUntilExit()
        #expect(watched.contains("hello") && watched.contains("bonjour"))

        #expect(try kubectl(server, "scale", "deployment", "web", "--replicas=5").output.contains("scaled"))
        #expect(try kubectl(server, "label", "deployment", "web", "tier=frontend").output.contains("labeled"))
        #expect(try kubectl(server, "annotate", "deployment", "web", "owner=team-a").output.contains("annotated"))
        let strategic = try kubectl(server, "patch", "deployment", "web", "-p", #"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"berth/busybox:2"}]}}}}"#)
        #expect(strategic.status == 0, "\(strategic.error)")
        #expect(try kubectl(server, "patch", "deployment", "web", "--type=merge", "-p", #"{"metadata":{"labels":{"stage":"beta"}}}"#).status == 0)
        #expect(try kubectl(server, "patch", "deployment", "web", "--type=json", "-p", #"[{"op":"add","path":"/spec/minReadySeconds","value":3}]"#).status == 0)
        let fields = try kubectl(server, "get", "deployment", "web", "-o",
                                 "jsonpath={.spec.replicas} {.metadata.labels.tier} {.metadata.annotations.owner} {.spec.template.spec.containers[0].image} {.metadata.labels.stage} {.spec.minReadySeconds} {.spec.template.spec.containers[0].env[0].name}")
        #expect(fields.output == "5 frontend team-a berth/busybox:2 beta 3 GREETING")

        let invalid = try kubectl(server, "apply", "-f", "-", input: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndatta:\n  a: b\n")
        #expect(invalid.status != 0)
        #expect(invalid.error.contains("unknown field \"datta\""))

        // Server-side apply: kubectl's own conflict report, and --force-conflicts taking over.
        let ssaConfig = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  level: \"1\"\n"
        let ssa = try kubectl(server, "apply", "--server-side", "-f", "-", input: ssaConfig)
        #expect(ssa.output.contains("configmap/ssa serverside-applied"), "\(ssa.error)")
        let other = ssaConfig.replacingOccurrences(of: "\"1\"", with: "\"2\"")
        let refused = try kubectl(server, "apply", "--server-side", "--field-manager=ci", "-f", "-", input: other)
        #expect(refused.status != 0)
        #expect(refused.error.contains("conflict with \"kubectl\": .data.level"), "\(refused.error)")
        #expect(try kubectl(server, "apply", "--server-side", "--field-manager=ci", "--force-conflicts", "-f", "-", input: other).status == 0)
        #expect(try kubectl(server, "get", "configmap", "ssa", "-o", "jsonpath={.data.level}").output == "2")
        #expect(try kubectl(server, "delete", "configmap", "ssa").status == 0)

        let raw = try kubectl(server, "get", "--raw", "/api/v1")
        #expect(raw.output.contains("\"kind\":\"APIResourceList\""))

        let deleted = try kubectl(server, "delete", "-f", "-", input: Self.manifest)
        #expect(deleted.status == 0)
        #expect(deleted.output.contains("deployment.apps \"web\" deleted"))
        // What is left is what every namespace (or `default`) has: the API's Service, the root CA.
        let left = try kubectl(server, "get", "deployments,services,configmaps,secrets", "-o", "name")
        #expect(left.output == "service/kubernetes\nconfigmap/kube-root-ca.crt\n", "\(left.output) \(left.error)")
    }

    @Test("kubectl create (protobuf bodies), run without nodeName, and a Deployment scheduled onto the node",
          .enabled(if: FileManager.default.isExecutableFile(atPath: kubectlPath)))
    func kubectlCreateAndSchedule() async throws {
        let server = BerthServerProcess(role: "up", extraArguments: ["--node-name", "create-node", "--bridge-name", "brcreate", "--pod-subnet", "100.96.49.0/24"])
        defer {
            // Deployments first (their ReplicaSets would replace deleted pods), then pods until
            // none is left, so the agent stops every container before the server goes.
            _ = try? kubectl(server, "delete", "deployments", "--all", "--wait=true", "--timeout=60s")
            for _ in 0..<60 {
                _ = try? kubectl(server, "delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=30s")
                if (try? kubectl(server, "get", "pods", "-o", "name").output.isEmpty) ?? true { break }
            }
            server.stop()
            HostLeftovers.remove(dataDirectory: server.dataDirectory)
            server.cleanUp()
            HostLeftovers.removeBridge("brcreate")
        }
        try await server.start()
        for arguments in [["create", "namespace", "team-a"], ["create", "configmap", "settings", "--from-literal=mode=fast"],
                          ["create", "secret", "generic", "token", "--from-literal=key=s3cret"],
                          ["create", "service", "clusterip", "front", "--tcp=80:8080"],
                          ["create", "deployment", "hello", "--image=berth/busybox:latest", "--replicas=2", "--", "sleep", "3600"]] {
            let result = try kubectl(server, arguments)
            #expect(result.status == 0, "kubectl \(arguments.joined(separator: " ")): \(result.error)")
        }
        #expect(try kubectl(server, "get", "configmap", "settings", "-o", "jsonpath={.data.mode}").output == "fast")
        #expect(try kubectl(server, "get", "secret", "token", "-o", "jsonpath={.data.key}").output == Base64.encode(Array("s3cret".utf8)))
        #expect(try kubectl(server, "get", "service", "front", "-o", "jsonpath={.spec.ports[0].port}/{.spec.ports[0].targetPort}").output == "80/8080")
        #expect(try kubectl(server, "get", "namespace", "team-a", "-o", "name").output.contains("namespace/team-a"))
        let rollout = try kubectl(server, "rollout", "status", "deployment/hello", "--timeout=60s")
        #expect(rollout.status == 0, "\(rollout.output) \(rollout.error)")
        let nodes = try kubectl(server, "get", "pods", "-l", "app=hello", "-o", "jsonpath={.items[*].spec.nodeName}")
        #expect(nodes.output == "create-node create-node")
        let run = try kubectl(server, "run", "solo", "--image=berth/busybox:latest", "--command", "--", "sleep", "3600")
        #expect(run.status == 0)
        #expect(try kubectl(server, "wait", "--for=condition=Ready", "pod/solo", "--timeout=60s").status == 0)
    }

    func kubectl(_ server: BerthServerProcess, _ arguments: [String]) throws -> CommandResult {
        try runCommand(Self.kubectl, ["--kubeconfig", server.kubeconfigPath] + arguments)
    }

    @Test func berthCLIWorkflow() async throws {
        let server = BerthServerProcess()
        defer { server.cleanUp() }
        try await server.start()
        let berth = BerthServerProcess.binary
        let applied = try runCommand(berth, ["apply", "--kubeconfig", server.kubeconfigPath, "-f", "-"], input: Self.manifest)
        #expect(applied.status == 0, "\(applied.error)")
        #expect(applied.output.contains("deployment.apps/web created"))
        let again = try runCommand(berth, ["apply", "--kubeconfig", server.kubeconfigPath, "-f", "-"], input: Self.manifest)
        #expect(again.output.contains("deployment.apps/web unchanged"))
        let table = try runCommand(berth, ["get", "deploy", "--kubeconfig", server.kubeconfigPath])
        #expect(table.output.hasPrefix("NAME   READY   UP-TO-DATE   AVAILABLE   AGE"))
        let wide = try runCommand(berth, ["get", "deploy", "-o", "wide", "--kubeconfig", server.kubeconfigPath])
        #expect(wide.output.contains("CONTAINERS") && wide.output.contains("berth/busybox:latest"))
        let all = try runCommand(berth, ["get", "configmaps", "-A", "--kubeconfig", server.kubeconfigPath])
        #expect(all.output.hasPrefix("NAMESPACE") && all.output.contains("web-config"))
        let yaml = try runCommand(berth, ["get", "svc", "web", "-o", "yaml", "--kubeconfig", server.kubeconfigPath])
        #expect(yaml.output.contains("kind: Service") && yaml.output.contains("clusterIP: 100."))
        // Several kinds at once, and kubectl's `all` category.
        let several = try runCommand(berth, ["get", "svc,cm", "--kubeconfig", server.kubeconfigPath])
        #expect(several.status == 0 && several.output.contains("service/web") && several.output.contains("configmap/web-config"), "\(several.output) \(several.error)")
        #expect(several.output.contains("\n\nNAME "), "one table per kind: \(several.output)")
        let everything = try runCommand(berth, ["get", "all", "--kubeconfig", server.kubeconfigPath])
        #expect(everything.output.contains("deployment.apps/web") && everything.output.contains("service/web") && !everything.output.contains("configmap/"),
                "\(everything.output) \(everything.error)")
        let names = try runCommand(berth, ["get", "deploy,svc", "-o", "name", "--kubeconfig", server.kubeconfigPath])
        #expect(names.output == "deployment.apps/web\nservice/kubernetes\nservice/web\n", "\(names.output)")
        let described = try runCommand(berth, ["describe", "deployment", "web", "--kubeconfig", server.kubeconfigPath])
        #expect(described.output.contains("Name:              web") && described.output.contains("Events:"))
        let selected = try runCommand(berth, ["get", "deploy", "-l", "app=nothing", "--kubeconfig", server.kubeconfigPath])
        #expect(selected.error.contains("No resources found"))
        let deleted = try runCommand(berth, ["delete", "deployment", "web", "--kubeconfig", server.kubeconfigPath])
        #expect(deleted.output.contains("deployment.apps \"web\" deleted"))
        let missing = try runCommand(berth, ["get", "deployment", "web", "--kubeconfig", server.kubeconfigPath])
        #expect(missing.status != 0 && missing.error.contains("NotFound"))
        let completion = try runCommand(berth, ["completion", "bash"])
        #expect(completion.output.contains("complete"))
    }
}
