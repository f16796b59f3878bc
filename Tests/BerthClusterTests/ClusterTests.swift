import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Three hosts (network namespaces with their own agent) joined to one control plane.
@Suite("Cluster of three hosts", .serialized, .blockingAllowed)
struct ClusterTests {
    static func spreadDeployment(replicas: Int) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: spread}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: spread}}
          template:
            metadata: {labels: {app: spread}}
            spec:
              terminationGracePeriodSeconds: 1
              affinity:
                podAntiAffinity:
                  preferredDuringSchedulingIgnoredDuringExecution:
                  - weight: 100
                    podAffinityTerm:
                      topologyKey: kubernetes.io/hostname
                      labelSelector: {matchLabels: {app: spread}}
              containers:
              - name: c
                image: berth/busybox:latest
                command: [sleep, "3600"]
        """
    }

    @Test("six replicas spread 2-2-2; a dead host's replicas run elsewhere within 30 s; its return leaves exactly six")
    func spreadFailoverAndReturn() async throws {
        let cluster = try await ClusterFixture.start()
        do {
            try cluster.apply(Self.spreadDeployment(replicas: 6))
            let spread = try await waitFor("6 replicas running", timeout: 60) {
                let counts = try await cluster.runningByNode(selector: "app%3Dspread")
                return counts.values.reduce(0, +) == 6 ? counts : nil
            }
            #expect(spread == Dictionary(uniqueKeysWithValues: cluster.hosts.map { ($0.name, 2) }))

            let victim = cluster.hosts[2]
            let killedAt = Date()
            cluster.killHost(victim)
            let after = try await waitFor("replicas replaced on the other hosts", timeout: 45) {
                let pods = try await cluster.pods(selector: "app%3Dspread")
                let live = pods.filter { $0.metadata.deletionTimestamp == nil }
                let running = live.filter { $0.status?.phase == "Running" && $0.spec?.nodeName != victim.name }
                return running.count == 6 && live.count == 6 ? running : nil
            }
            let seconds = Date().timeIntervalSince(killedAt)
            print("failover: replicas of the killed host running elsewhere after \(String(format: "%.1f", seconds)) s")
            #expect(seconds <= 30, "failover took \(seconds) s")
            #expect(Set(after.compactMap { $0.spec?.nodeName }) == [cluster.hosts[0].name, cluster.hosts[1].name])
            let node = try await cluster.api().request(.GET, "/api/v1/nodes/\(victim.name)").json()
            #expect(node["spec"]?["taints"]?.arrayValue?.contains { $0["key"]?.stringValue == "node.kubernetes.io/unreachable" } == true)

            // The host comes back: it rejoins with its saved certificate, keeps nothing of the
            // replaced pods, and the Deployment still has exactly six replicas.
            try cluster.startAgent(victim, token: "unused.after-join")
            try await cluster.waitForNode(victim.name, ready: true)
            try await Task.sleep(for: .seconds(5))
            let final = try await cluster.pods(selector: "app%3Dspread").filter { $0.metadata.deletionTimestamp == nil }
            #expect(final.count == 6)
            #expect(final.allSatisfy { $0.spec?.nodeName != victim.name })
            let containers = try runCommand("/usr/sbin/runc", ["--root", victim.runcRoot, "list", "--format", "json"]).output
            #expect(!containers.contains("\"running\""), "the returned host still runs replaced containers: \(containers)")
            let taints = try await cluster.api().request(.GET, "/api/v1/nodes/\(victim.name)").json()["spec"]?["taints"]?.arrayValue ?? []
            #expect(!taints.contains { $0["key"]?.stringValue == "node.kubernetes.io/unreachable" })
        } catch {
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }

    @Test("rolling update under readiness checks keeps replicas - maxUnavailable ready; undo restores the image; drain empties a host")
    func rollingUpdateUndoAndDrain() async throws {
        let cluster = try await ClusterFixture.start()
        do {
            for host in cluster.hosts {
                let tagged = try runCommand(BerthServerProcess.binary, ["image", "tag", "--data-dir", host.dataDirectory, "berth/busybox:latest", "berth/busybox:v2"])
                #expect(tagged.status == 0, "\(tagged.error)")
            }
            try cluster.apply("""
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: roll}
                spec:
                  replicas: 4
                  selector: {matchLabels: {app: roll}}
                  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}
                  template:
                    metadata: {labels: {app: roll}}
                    spec:
                      terminationGracePeriodSeconds: 1
                      containers:
                      - name: c
                        image: berth/busybox:latest
                        command: [sh, -c, "sleep 1; touch /tmp/ready; exec sleep 3600"]
                        readinessProbe:
                          exec: {command: [test, -f, /tmp/ready]}
                          periodSeconds: 1
                """)
            #expect(try cluster.kubectl(["rollout", "status", "deployment/roll", "--timeout=90s"]).status == 0)

            let monitor = Task { () -> Int in
                var lowest = Int.max
                while !Task.isCancelled {
                    if let pods = try? await cluster.pods(selector: "app%3Droll") {
                        let ready = pods.filter { pod in
                            pod.metadata.deletionTimestamp == nil && pod.status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } == true
                        }.count
                        lowest = min(lowest, ready)
                    }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                return lowest
            }
            #expect(try cluster.kubectl(["set", "image", "deployment/roll", "c=berth/busybox:v2"]).status == 0)
            let rollout = try cluster.kubectl(["rollout", "status", "deployment/roll", "--timeout=120s"])
            monitor.cancel()
            let lowest = await monitor.value
            #expect(rollout.status == 0, "\(rollout.output) \(rollout.error)")
            #expect(lowest >= 3, "ready pods fell to \(lowest) during the rollout (replicas 4, maxUnavailable 1)")
            let updated = try await cluster.pods(selector: "app%3Droll").filter { $0.metadata.deletionTimestamp == nil }
            #expect(updated.count == 4 && updated.allSatisfy { $0.spec?.containers.first?.image == "berth/busybox:v2" })

            let history = try cluster.kubectl(["rollout", "history", "deployment/roll"])
            #expect(history.output.contains("1 ") && history.output.contains("2 "), "\(history.output)")
            #expect(try cluster.kubectl(["rollout", "undo", "deployment/roll"]).status == 0)
            #expect(try cluster.kubectl(["rollout", "status", "deployment/roll", "--timeout=120s"]).status == 0)
            let restored = try await waitFor("pods back on the previous image", timeout: 30) {
                let pods = try await cluster.pods(selector: "app%3Droll").filter { $0.metadata.deletionTimestamp == nil }
                return pods.count == 4 && pods.allSatisfy({ $0.spec?.containers.first?.image == "berth/busybox:latest" }) ? pods : nil
            }
            #expect(restored.count == 4)

            // A DaemonSet puts one pod on every host; drains leave it there.
            try cluster.apply("""
                apiVersion: apps/v1
                kind: DaemonSet
                metadata: {name: daemon}
                spec:
                  selector: {matchLabels: {app: daemon}}
                  template:
                    metadata: {labels: {app: daemon}}
                    spec:
                      terminationGracePeriodSeconds: 1
                      containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]
                """)
            let daemons = try await waitFor("a daemon pod Running on each host", timeout: 60) { () -> [String: Int]? in
                let counts = try await cluster.runningByNode(selector: "app%3Ddaemon")
                return counts.count == 3 ? counts : nil
            }
            #expect(daemons.values.allSatisfy { $0 == 1 })

            let drained = cluster.hosts[1].name
            let drain = try cluster.kubectl(["drain", drained, "--ignore-daemonsets", "--timeout=90s"])
            #expect(drain.status == 0, "\(drain.output) \(drain.error)")
            let afterDrain = try await waitFor("4 replicas running off the drained host", timeout: 60) {
                let counts = try await cluster.runningByNode(selector: "app%3Droll")
                return counts.values.reduce(0, +) == 4 && counts[drained] == nil ? counts : nil
            }
            #expect(afterDrain[drained] == nil)
            let node = try await cluster.api().request(.GET, "/api/v1/nodes/\(drained)").json()
            #expect(node["spec"]?["unschedulable"] == .bool(true))
            #expect(try cluster.kubectl(["uncordon", drained]).status == 0)

            // The same with the berth CLI, on the third host.
            let third = cluster.hosts[2].name
            let berthDrain = try runCommand(BerthServerProcess.binary, ["node", "drain", third, "--kubeconfig", cluster.server.kubeconfigPath], timeout: 120)
            #expect(berthDrain.status == 0, "\(berthDrain.output) \(berthDrain.error)")
            let afterBerthDrain = try await waitFor("4 replicas running off the third host", timeout: 60) { () -> [String: Int]? in
                let counts = try await cluster.runningByNode(selector: "app%3Droll")
                return counts.values.reduce(0, +) == 4 && counts[third] == nil ? counts : nil
            }
            #expect(afterBerthDrain[third] == nil)
            #expect(try await cluster.runningByNode(selector: "app%3Ddaemon")[third] == 1)
            #expect(try runCommand(BerthServerProcess.binary, ["node", "uncordon", third, "--kubeconfig", cluster.server.kubeconfigPath]).status == 0)

            // Logs, stats and exec of a pod on a joined host come through the API server from that
            // host's agent (mutual TLS to its endpoint).
            let first = cluster.hosts[0].name
            let run = try cluster.kubectl(["run", "talker", "--image=berth/busybox:latest",
                                           "--overrides={\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"\(first)\"}}}",
                                           "--command", "--", "sh", "-c", "echo hello from $(hostname); exec sleep 3600"])
            #expect(run.status == 0, "\(run.error)")
            #expect(try cluster.kubectl(["wait", "--for=condition=Ready", "pod/talker", "--timeout=60s"]).status == 0)
            let logs = try await waitFor("talker's log line", timeout: 20) { () -> String? in
                let output = try cluster.kubectl(["logs", "talker"]).output
                return output.contains("hello from talker") ? output : nil
            }
            #expect(logs.contains("hello from talker"))
            let stats = try cluster.kubectl(["get", "--raw", "/api/v1/nodes/\(first)/proxy/stats/summary"])
            #expect(stats.output.contains("\"pods\""), "\(stats.output) \(stats.error)")

            // Exec into it: kubectl → API server → that host's agent (WebSocket, mutual TLS).
            let exec = try cluster.kubectl(["exec", "talker", "--", "sh", "-c", "cat /etc/hostname; echo oops >&2; exit 3"])
            #expect(exec.status == 3, "\(exec.output) \(exec.error)")
            #expect(exec.output == "talker\n")
            #expect(exec.error.contains("oops"))
            let piped = try cluster.kubectl(["exec", "-i", "talker", "--", "tr", "a-z", "A-Z"], input: "shout across hosts\n")
            #expect(piped.status == 0 && piped.output == "SHOUT ACROSS HOSTS\n", "\(piped.output) \(piped.error)")
            let wrongContainer = try cluster.kubectl(["exec", "talker", "-c", "nope", "--", "true"])
            #expect(wrongContainer.status != 0 && wrongContainer.error.contains("nope"), "\(wrongContainer.error)")
            let berthExec = try runCommand(BerthServerProcess.binary, ["exec", "talker", "--kubeconfig", cluster.server.kubeconfigPath, "--", "cat", "/etc/hostname"])
            #expect(berthExec.status == 0 && berthExec.output == "talker\n", "\(berthExec.output) \(berthExec.error)")
            // kubectl run -i on that host: the API server relays to the agent's /attach endpoint.
            let attached = try cluster.kubectl(["run", "-i", "--rm", "asker", "--restart=Never", "--image=berth/busybox:latest",
                                                "--overrides={\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"\(first)\"}}}", "--", "sh"],
                                               input: "echo answered by $(hostname)\nexit 4\n", timeout: 60)
            #expect(attached.status == 4 && attached.output.contains("answered by asker"), "\(attached.output) \(attached.error)")
            let refused = try cluster.kubectl(["attach", "-i", "talker"], input: "x\n", timeout: 20)
            #expect(refused.status != 0 && refused.error.contains("was not started with stdin: true"), "\(refused.error)")
            // kubectl port-forward to a port bound to the pod's own loopback on that host: the
            // server reaches it through the agent's /portforward endpoint.
            let served = try cluster.kubectl(["run", "webby", "--image=berth/busybox:latest",
                                              "--overrides={\"spec\":{\"nodeSelector\":{\"kubernetes.io/hostname\":\"\(first)\"}}}",
                                              "--command", "--", "sh", "-c", "httpd -f -p 127.0.0.1:8081 -h /etc"])
            #expect(served.status == 0, "\(served.error)")
            #expect(try cluster.kubectl(["wait", "--for=condition=Ready", "pod/webby", "--timeout=60s"]).status == 0)
            let localPort = BerthServerProcess.freePort()
            let forward = Process()
            forward.executableURL = URL(fileURLWithPath: "/usr/lib/google-cloud-sdk/bin/kubectl.1.33")
            forward.arguments = ["--kubeconfig", cluster.server.kubeconfigPath, "port-forward", "pod/webby", "\(localPort):8081"]
            forward.standardOutput = FileHandle.nullDevice
            forward.standardError = FileHandle.nullDevice
            try forward.run()
            defer { if forward.isRunning { kill(forward.processIdentifier, SIGKILL); forward.waitUntilExit() } }
            let page = try await waitFor("the page through port-forward", timeout: 20) { () -> String? in
                let reply = try runCommand("/usr/bin/curl", ["-sf", "--max-time", "3", "http://127.0.0.1:\(localPort)/hostname"])
                return reply.status == 0 ? reply.output : nil
            }
            #expect(page == "webby\n")
        } catch {
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }

    @Test("join refusals: wrong, expired and foreign credentials; a node touching another node's objects")
    func joinRefusals() async throws {
        let cluster = try await ClusterFixture.start(hosts: 2)
        do {
            let url = "https://\(cluster.server.host):\(cluster.server.port)"
            func join(_ token: String, hash: String? = nil) throws -> CommandResult {
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-intruder-\(UUID().uuidString)").path
                defer { try? FileManager.default.removeItem(atPath: directory) }
                return try runCommand(BerthServerProcess.binary, ["agent", "--join", url, "--token", token, "--ca-cert-hash", hash ?? cluster.caHash,
                                                                   "--data-dir", directory, "--node-name", "intruder"], timeout: 30)
            }
            let wrong = try join("abcdef.0123456789abcdef")
            #expect(wrong.status != 0 && wrong.error.contains("Unauthorized"), "\(wrong.error)")
            let expiredID = "exp123"
            let expired: JSONValue = [
                "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
                "metadata": ["name": .string("bootstrap-token-\(expiredID)"), "namespace": "kube-system"],
                "stringData": ["token-id": .string(expiredID), "token-secret": "0123456789abcdef", "expiration": "2020-01-01T00:00:00Z",
                               "usage-bootstrap-authentication": "true"],
            ]
            _ = try await cluster.api().request(.POST, "/api/v1/namespaces/kube-system/secrets", body: JSONWriter.bytes(expired)).checked()
            let stale = try join("\(expiredID).0123456789abcdef")
            #expect(stale.status != 0 && stale.error.contains("Unauthorized"), "\(stale.error)")
            let pinned = try join(cluster.token, hash: "sha256:" + String(repeating: "0", count: 64))
            #expect(pinned.status != 0 && pinned.error.contains("does not match"), "\(pinned.error)")
            // A bootstrap token may join and nothing else.
            let tokenUse = try runCommand("/usr/bin/curl", ["-s", "-k", "-H", "Authorization: Bearer \(cluster.token)", "\(url)/api/v1/pods"])
            #expect(tokenUse.output.contains("\"code\":403"), "\(tokenUse.output)")

            // Node h-1's own certificate, from the kubeconfig its join saved.
            let first = cluster.hosts[0], second = cluster.hosts[1]
            let saved = try Kubeconfig.load(path: first.dataDirectory + "/node.kubeconfig")
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-certs-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try saved.clientCertificate?.write(toFile: directory + "/node.crt", atomically: true, encoding: .utf8)
            try saved.clientKey?.write(toFile: directory + "/node.key", atomically: true, encoding: .utf8)
            try saved.certificateAuthority?.write(toFile: directory + "/ca.crt", atomically: true, encoding: .utf8)
            func asNode(_ arguments: [String]) throws -> String {
                try runCommand("/usr/bin/curl", ["-s", "--cacert", directory + "/ca.crt", "--cert", directory + "/node.crt", "--key", directory + "/node.key"] + arguments).output
            }
            let secret: JSONValue = ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "other-secret"], "stringData": ["k": "v"]]
            _ = try await cluster.api().request(.POST, "/api/v1/namespaces/default/secrets", body: JSONWriter.bytes(secret)).checked()
            #expect(try asNode(["\(url)/api/v1/nodes/\(first.name)"]).contains("\"kind\":\"Node\""))
            #expect(try asNode(["\(url)/api/v1/namespaces/default/secrets/other-secret"]).contains("\"code\":403"))
            // Pods are readable cluster-wide (the network agent resolves policies against them); writing another node's pod is not.
            #expect(try asNode(["\(url)/api/v1/pods"]).contains("\"kind\":\"PodList\""))
            let patch = ["-X", "PATCH", "-H", "Content-Type: application/merge-patch+json", "-d", "{\"metadata\":{\"labels\":{\"owned\":\"yes\"}}}"]
            #expect(try asNode(patch + ["\(url)/api/v1/nodes/\(second.name)"]).contains("\"code\":403"))
            #expect(try asNode(patch + ["\(url)/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/\(second.name)"]).contains("\"code\":403"))
            #expect(try asNode(patch + ["\(url)/api/v1/nodes/\(first.name)"]).contains("\"owned\":\"yes\""))
            // A certificate for the same name from another CA is answered with a 401.
            _ = try runCommand("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                   "-keyout", directory + "/forged.key", "-out", directory + "/forged.crt",
                                                   "-subj", "/O=system:nodes/CN=system:node:\(first.name)", "-days", "1"])
            let forged = try runCommand("/usr/bin/curl", ["-s", "--cacert", directory + "/ca.crt", "--cert", directory + "/forged.crt", "--key", directory + "/forged.key",
                                                         "\(url)/api/v1/nodes"])
            #expect(forged.output.contains("\"code\":401") && !forged.output.contains("NodeList"), "a foreign certificate got through: \(forged.output)")
            let log = (try? String(contentsOfFile: cluster.server.dataDirectory + ".log", encoding: .utf8)) ?? ""
            #expect(log.contains("refused a node request"))
        } catch {
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }
}
