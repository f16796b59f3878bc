import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Logs and exec through the API with real clients: kubectl 1.33 and the berth CLI.
@Suite("logs and exec with kubectl and berth", .serialized, .blockingAllowed)
struct PodStreamsTests {
    static let kubectl = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33"

    @Test("kubectl logs (tail, follow) and exec (exit code, stdin); berth logs and exec the same")
    func kubectlAndBerth() async throws {
        try await withNode { node in
            try await node.createPod(Manifest.pod("talk", [Manifest.container("main", "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.3; done")]))
            _ = try await node.waitForPod("talk", "Running") { $0.status?.phase == "Running" }
            try await Task.sleep(for: .seconds(1))
            let kubeconfig = ["--kubeconfig", node.server.kubeconfigPath]
            let tail = try runCommand(Self.kubectl, kubeconfig + ["logs", "talk", "--tail=1"])
            #expect(tail.status == 0 && tail.output.hasPrefix("line ") && tail.output.split(separator: "\n").count == 1, "\(tail)")
            // follow: new lines keep arriving until kubectl is stopped (5 s: kubectl itself may
            // take a second or two to start on a busy host).
            let follow = try runCommand(Self.kubectl, kubeconfig + ["logs", "-f", "talk"], timeout: 5)
            let followed = follow.output.split(separator: "\n")
            #expect(followed.count >= 5, "follow streamed \(followed.count) lines")
            // attach: what the container prints from now on, not what it printed before.
            let attach = try runCommand(Self.kubectl, kubeconfig + ["attach", "talk"], timeout: 5)
            let attached = attach.output.split(separator: "\n").compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
            #expect(attached.count >= 4, "attach streamed \(attach)")
            #expect((attached.first ?? 0) > (followed.last.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? .max) - 3,
                    "attach began with the current output, not the start of the log")
            let attachStdin = try runCommand(Self.kubectl, kubeconfig + ["attach", "-i", "talk"], timeout: 5)
            #expect(attachStdin.status != 0 && attachStdin.error.contains("was not started with stdin: true"), "\(attachStdin)")
            let exec = try runCommand(Self.kubectl, kubeconfig + ["exec", "talk", "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(exec.status == 3)
            #expect(exec.output == "out\n")
            #expect(exec.error.contains("err"))
            let stdin = try runCommand(Self.kubectl, kubeconfig + ["exec", "-i", "talk", "--", "tr", "a-z", "A-Z"], input: "hello exec\n")
            #expect(stdin.output == "HELLO EXEC\n")
            let berth = BerthServerProcess.binary
            let berthExec = try runCommand(berth, ["exec", "--kubeconfig", node.server.kubeconfigPath, "talk", "--", "sh", "-c", "hostname; exit 5"])
            #expect(berthExec.status == 5)
            #expect(berthExec.output == "talk\n")
            let berthLogs = try runCommand(berth, ["logs", "--kubeconfig", node.server.kubeconfigPath, "talk", "--tail", "2"])
            #expect(berthLogs.output.split(separator: "\n").count == 2)
            let missing = try runCommand(Self.kubectl, kubeconfig + ["logs", "talk", "-c", "nope"])
            #expect(missing.status != 0 && missing.error.contains("nope"))
        }
    }

    @Test("kubectl run -i and -it, attach -i: the container's own stdin, stdout and stderr, its exit code, and the terminal size")
    func attachToStdin() async throws {
        try await withNode { node in
            let kubeconfig = ["--kubeconfig", node.server.kubeconfigPath]
            // kubectl run -i --rm: kubectl makes a pod with stdin (stdinOnce), attaches, and
            // deletes it after; the shell's exit code is kubectl's.
            let once = try runCommand(Self.kubectl, kubeconfig + ["run", "-i", "--rm", "once", "--restart=Never", "--image=berth/busybox:latest", "--", "sh"],
                                      input: "echo hello from $(hostname)\nexit 3\n", timeout: 60)
            #expect(once.status == 3, "\(once)")
            #expect(once.output.contains("hello from once"), "\(once)")
            // A terminal: kubectl -t under `script`, 99 columns by 33 rows.
            let typed = "(sleep 3; printf 'stty size; echo tty-$((6*7))\\r'; sleep 1; printf 'exit\\r'; sleep 2)"
            let command = "stty cols 99 rows 33; \(Self.kubectl) --kubeconfig \(node.server.kubeconfigPath) run -it --rm term --restart=Never --image=berth/busybox:latest -- sh"
            let terminal = try runCommand("/bin/sh", ["-c", "\(typed) | script -qfc '\(command)' /dev/null"], timeout: 60)
            #expect(terminal.output.contains("33 99") && terminal.output.contains("tty-42"), "\(terminal)")
            // attach -i to a running pod: its stdin from now on, stdout and stderr kept apart.
            try await node.createPod(Manifest.pod("echoer", [Manifest.container("main", "while read line; do echo \"got $line\"; echo \"err $line\" >&2; done",
                                                                                extra: ["stdin": true])]))
            _ = try await node.waitForPod("echoer", "Running") { $0.status?.phase == "Running" }
            let attached = try runCommand("/bin/sh", ["-c", "(sleep 1; echo alpha; echo beta; sleep 2) | timeout 6 \(Self.kubectl) --kubeconfig \(node.server.kubeconfigPath) attach -i echoer"],
                                          timeout: 10)
            #expect(attached.output.contains("got alpha\ngot beta"), "\(attached)")
            #expect(attached.error.contains("err alpha") && !attached.output.contains("err alpha"), "\(attached)")
            for name in ["once", "term"] {
                _ = try await waitFor("\(name) deleted by kubectl --rm", timeout: 30) { () -> Bool? in
                    try runCommand(Self.kubectl, kubeconfig + ["get", "pod", name]).status != 0 ? true : nil
                }
            }
        }
    }

    @Test("kubectl port-forward: bytes both ways through the WebSocket tunnel, several connections, the pod's loopback, a refused port reported")
    func kubectlPortForward() async throws {
        try await withNode { node in
            try await node.createPod(Manifest.pod("served", [Manifest.container("main", "dd if=/dev/urandom of=/tmp/blob bs=1024 count=3000 2>/dev/null; md5sum /tmp/blob > /tmp/sum; httpd -p 127.0.0.1:8081 -h /tmp; httpd -f -p 8080 -h /tmp")]))
            _ = try await node.waitForPod("served", "Running") { $0.status?.phase == "Running" }
            try await Task.sleep(for: .seconds(1))
            let (port, refusedPort, loopbackPort) = (BerthServerProcess.freePort(), BerthServerProcess.freePort(), BerthServerProcess.freePort())
            let forward = Process()
            forward.executableURL = URL(fileURLWithPath: Self.kubectl)
            forward.arguments = ["--kubeconfig", node.server.kubeconfigPath, "port-forward", "pod/served", "\(port):8080", "\(refusedPort):9", "\(loopbackPort):8081"]
            let errors = Pipe()
            forward.standardOutput = FileHandle.nullDevice
            forward.standardError = errors
            try forward.run()
            defer { if forward.isRunning { kill(forward.processIdentifier, SIGKILL) }; forward.waitUntilExit() }
            var sum = try runCommand("/usr/bin/curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(port)/sum"])
            for _ in 0..<50 where sum.status != 0 {
                try await Task.sleep(for: .milliseconds(200))
                sum = try runCommand("/usr/bin/curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(port)/sum"])
            }
            #expect(sum.status == 0, "\(sum)")
            // 3 MB through the tunnel, checked against the checksum the container computed.
            let blob = try runCommand("/bin/sh", ["-c", "curl -sf --max-time 20 http://127.0.0.1:\(port)/blob | md5sum"])
            #expect(blob.output.prefix(32) == sum.output.prefix(32) && sum.output.count >= 32, "\(blob) vs \(sum)")
            // A port the container binds to its own 127.0.0.1 only: reached, as through the kubelet.
            let loopback = try runCommand("/usr/bin/curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(loopbackPort)/sum"])
            #expect(loopback.status == 0 && loopback.output == sum.output, "\(loopback)")
            let refused = try runCommand("/usr/bin/curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(refusedPort)/"])
            #expect(refused.status != 0)
            try await Task.sleep(for: .milliseconds(500))
            kill(forward.processIdentifier, SIGKILL)
            forward.waitUntilExit()
            let reported = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(reported.contains("failed to connect to") && reported.contains(":9 in pod served: connection refused"), "\(reported)")
        }
    }

    @Test("kubectl 1.27 and 1.29 speak SPDY: exec (exit code, stdout and stderr apart, stdin), attach, port-forward; a user without pods/exec refused")
    func kubectlSPDY() async throws {
        let old = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"
        try await withNode { node in
            try await node.createPod(Manifest.pod("spdy", [Manifest.container("main", "httpd -f -p 8080 -h /etc & while true; do echo tick; sleep 0.3; done")]))
            _ = try await node.waitForPod("spdy", "Running") { $0.status?.phase == "Running" }
            try await Task.sleep(for: .seconds(1))
            let kubeconfig = ["--kubeconfig", node.server.kubeconfigPath]
            let exec = try runCommand(old, kubeconfig + ["exec", "spdy", "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
            #expect(exec.status == 3, "\(exec)")
            #expect(exec.output == "out\n" && exec.error.contains("err"), "\(exec)")
            for version in [old, "/usr/lib/google-cloud-sdk/bin/kubectl.1.29"] {
                let stdin = try runCommand(version, kubeconfig + ["exec", "-i", "spdy", "--", "tr", "a-z", "A-Z"], input: "hello spdy\n")
                #expect(stdin.output == "HELLO SPDY\n", "\(version): \(stdin)")
            }
            let attach = try runCommand(old, kubeconfig + ["attach", "spdy"], timeout: 2)
            #expect(attach.output.contains("tick"), "\(attach)")
            // port-forward over SPDY.
            let port = BerthServerProcess.freePort()
            let forward = Process()
            forward.executableURL = URL(fileURLWithPath: old)
            forward.arguments = kubeconfig + ["port-forward", "pod/spdy", "\(port):8080"]
            forward.standardOutput = FileHandle.nullDevice
            forward.standardError = FileHandle.nullDevice
            try forward.run()
            defer { if forward.isRunning { kill(forward.processIdentifier, SIGKILL) }; forward.waitUntilExit() }
            var page = try runCommand("/usr/bin/curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(port)/hostname"])
            for _ in 0..<50 where page.status != 0 {
                try await Task.sleep(for: .milliseconds(200))
                page = try runCommand("/usr/bin/curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(port)/hostname"])
            }
            #expect(page.status == 0 && page.output == "spdy\n", "\(page)")
            // Through the same pipeline: a user who may only read pods cannot exec.
            let config = node.server.dataDirectory + "/reader.kubeconfig"
            #expect(try runCommand(BerthServerProcess.binary, ["user", "create", "reader", "--kubeconfig-out", config, "--data-dir", node.server.dataDirectory]).status == 0)
            #expect(try runCommand(Self.kubectl, kubeconfig + ["create", "rolebinding", "reader-view", "--clusterrole=view", "--user=reader"]).status == 0)
            #expect(try runCommand(old, ["--kubeconfig", config, "get", "pod", "spdy"]).status == 0)
            // Refused for exec, attach and port-forward, over SPDY (1.27) and WebSocket (1.33).
            for version in [old, Self.kubectl] {
                for arguments in [["exec", "spdy", "--", "true"], ["attach", "spdy"], ["port-forward", "pod/spdy", "\(BerthServerProcess.freePort()):8080"]] {
                    let refused = try runCommand(version, ["--kubeconfig", config] + arguments, timeout: 20)
                    #expect(refused.status != 0 && refused.error.lowercased().contains("forbidden"), "\(version) \(arguments): \(refused)")
                }
            }
        }
    }

    @Test("logs are rotated by size: at most 5 files, the current one below the limit, reading continues in the new file")
    func rotation() async throws {
        try await withNode { node in
            // ~200 bytes a line, 40 lines every 0.1 s: the 64 KiB limit is passed every second.
            let line = String(repeating: "x", count: 190)
            try await node.createPod(Manifest.pod("chatty", [Manifest.container("main", "i=0; while true; do for j in $(seq 40); do echo \"$i \(line)\"; done; i=$((i+1)); sleep 0.1; done")]))
            let pod = try await node.waitForPod("chatty", "Running") { $0.status?.phase == "Running" }
            try await Task.sleep(for: .seconds(10))
            let directory = node.server.dataDirectory + "/node/logs/default_chatty_\(pod.metadata.uid ?? "")/main"
            let files = try FileManager.default.contentsOfDirectory(atPath: directory)
            #expect(files.count >= 2 && files.count <= 5, "log files: \(files.sorted())")
            // Between the rename and conmon reopening its log, 0.log is briefly absent.
            var size: Int?
            for _ in 0..<20 where size == nil {
                size = (try? FileManager.default.attributesOfItem(atPath: directory + "/0.log"))?[.size] as? Int
                if size == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let current = try #require(size, "0.log never reappeared")
            #expect(current < 65536 * 3, "current log \(current) bytes")
            let tail = try await node.logs("chatty", query: "tailLines=3")
            #expect(tail.split(separator: "\n").count == 3 && tail.contains(line), "tail: \(tail.prefix(800))")
        }
    }
}
