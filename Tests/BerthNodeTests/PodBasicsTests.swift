import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Real pods on a real node: runc under conmon, CNI bridge, overlay root file systems. Root only.
@Suite("pods on a node", .serialized, .blockingAllowed)
struct PodBasicsTests {
    @Test("two containers share localhost; env, command, args and working dir are applied; logs come through the API")
    func localhostAndSpec() async throws {
        try await withNode { node in
            try await node.createPod(Manifest.pod("web", [
                Manifest.container("server", "mkdir -p /www && echo hi-$GREETING > /www/index.html && exec httpd -f -p 8080 -h /www",
                                   extra: ["env": [["name": "GREETING", "value": "there"]]]),
                ["name": "client", "image": "berth/busybox:latest", "workingDir": "/tmp",
                 "command": ["sh", "-c", "pwd; echo args: $0 $1; sleep 1; wget -qO- http://127.0.0.1:8080/index.html; echo GREETING=${GREETING:-unset}; sleep 3600", "x", "y"]],
            ]))
            let pod = try await node.waitForPod("web", "Running and ready") { $0.status?.phase == "Running" && $0.isReady }
            #expect(pod.status?.podIP?.hasPrefix("100.96.\(50 + node.index).") == true)
            var logs = ""
            for _ in 0..<40 {
                logs = try await node.logs("web", query: "container=client")
                if logs.contains("GREETING=") { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(logs.contains("/tmp\n"))
            #expect(logs.contains("args: x y"))
            #expect(logs.contains("hi-there"))
            #expect(logs.contains("GREETING=unset"))
            let tail = try await node.logs("web", query: "container=client&tailLines=1")
            #expect(tail == "GREETING=unset\n")
            try await node.deletePod("web")
            #expect(node.leftovers(podUID: pod.metadata.uid ?? "").isEmpty)
            // The kubelet's events, from the node: image present, created, started, and stopped.
            let events = try await waitFor("the pod's events", timeout: 10) { () -> [String]? in
                let list = try await node.api().request(.GET, "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb").checked().json()
                let seen = (list["items"]?.arrayValue ?? []).map { "\($0["reason"]?.stringValue ?? ""): \($0["message"]?.stringValue ?? "")" }
                return seen.contains("Killing: Stopping container client") ? seen : nil
            }
            for expected in ["Pulled: Container image \"berth/busybox:latest\" already present on machine", "Created: Created container: server",
                             "Started: Started container server", "Killing: Stopping container server"] {
                #expect(events.contains(expected), "\(events)")
            }
        }
    }

    @Test("containers of a pod share one IPC namespace and /dev/shm; another pod and the host do not")
    func sharedIPC() async throws {
        try await withNode { node in
            try await node.createPod(Manifest.pod("pair", [Manifest.container("a", "sleep 3600"), Manifest.container("b", "sleep 3600")]))
            try await node.createPod(Manifest.pod("loner", [Manifest.container("c", "sleep 3600")]))
            let pair = try await node.waitForPod("pair", "Running") { $0.status?.phase == "Running" && $0.isReady }
            let loner = try await node.waitForPod("loner", "Running") { $0.status?.phase == "Running" }
            func ipc(_ pod: Pod, _ container: String) throws -> String {
                try node.runcExec(pod, container: container, ["readlink", "/proc/self/ns/ipc"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let (a, b, c) = (try ipc(pair, "a"), try ipc(pair, "b"), try ipc(loner, "c"))
            let host = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/ipc")
            #expect(a.hasPrefix("ipc:[") && a == b, "\(a) vs \(b)")
            #expect(c != a && c.hasPrefix("ipc:["))
            #expect(host != a && host != c)
            #expect(try node.runcExec(pair, container: "a", ["sh", "-c", "echo shared-token > /dev/shm/token"]).status == 0)
            #expect(try node.runcExec(pair, container: "b", ["cat", "/dev/shm/token"]).output == "shared-token\n")
            #expect(try node.runcExec(loner, container: "c", ["cat", "/dev/shm/token"]).status != 0)
            let shm = try node.runcExec(pair, container: "b", ["sh", "-c", "grep ' /dev/shm ' /proc/mounts"]).output
            #expect(shm.contains("tmpfs") && shm.contains("nosuid") && shm.contains("nodev") && shm.contains("noexec"), "\(shm)")
            try await node.deletePod("pair")
            try await node.deletePod("loner")
            #expect(node.leftovers(podUID: pair.metadata.uid ?? "").isEmpty)
            #expect(node.leftovers(podUID: loner.metadata.uid ?? "").isEmpty)
        }
    }

    /// A static probe of the clone filter: namespaces refused, plain forks fine, clone3 ENOSYS.
    static let cloneProbe = #"""
        #define _GNU_SOURCE
        #include <sched.h>
        #include <stdio.h>
        #include <errno.h>
        #include <string.h>
        #include <signal.h>
        #include <sys/syscall.h>
        #include <sys/wait.h>
        #include <unistd.h>
        static char stack[65536];
        static int child(void *arg) { (void)arg; return 0; }
        static void try_clone(const char *name, int flags) {
            int pid = clone(child, stack + sizeof(stack), flags | SIGCHLD, NULL);
            if (pid < 0) { printf("%s: %s\n", name, strerror(errno)); return; }
            waitpid(pid, NULL, 0);
            printf("%s: ok\n", name);
        }
        int main(void) {
            try_clone("newuser", CLONE_NEWUSER);
            try_clone("newnet", CLONE_NEWNET);
            try_clone("plain", 0);
            long r = syscall(435, NULL, 0);
            printf("clone3: %s\n", r < 0 ? strerror(errno) : "ok");
            return 0;
        }
        """#

    @Test("the sandbox: own processes only, Docker's capabilities, no new privileges, seccomp (incl. no new namespaces by clone), masked /proc/kcore")
    func isolation() async throws {
        let tools = FileManager.default.temporaryDirectory.appendingPathComponent("berth-probe-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: tools, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tools) }
        try Self.cloneProbe.write(toFile: tools + "/probe.c", atomically: true, encoding: .utf8)
        let compiled = try runCommand("/usr/bin/gcc", ["-static", "-O1", "-o", tools + "/probe", tools + "/probe.c"], timeout: 60)
        #expect(compiled.status == 0, "gcc: \(compiled.error)")
        try await withNode { node in
            try await node.createPod(Manifest.pod("box", [Manifest.container("main", "sleep 3600", extra: ["volumeMounts": [["name": "tools", "mountPath": "/t", "readOnly": true]]])],
                                                  extra: ["volumes": [["name": "tools", "hostPath": ["path": .string(tools), "type": "Directory"]]]]))
            let pod = try await node.waitForPod("box", "Running") { $0.status?.phase == "Running" }
            let ps = try node.runcExec(pod, container: "main", ["ps", "-o", "pid,comm"])
            let processes = ps.output.split(separator: "\n").dropFirst()
            #expect(processes.count == 2, "only sleep and ps itself: \(ps.output)")
            let status = try node.runcExec(pod, container: "main", ["cat", "/proc/self/status"]).output
            #expect(status.contains("CapEff:\t00000000a80425fb"))
            #expect(status.contains("NoNewPrivs:\t1"))
            #expect(status.contains("Seccomp:\t2"))
            let kcore = try node.runcExec(pod, container: "main", ["sh", "-c", "wc -c < /proc/kcore"])
            #expect(kcore.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0" || kcore.status != 0)
            let mount = try node.runcExec(pod, container: "main", ["mount", "-t", "tmpfs", "none", "/mnt"])
            #expect(mount.status != 0, "mount is refused in the sandbox")
            let probe = try node.runcExec(pod, container: "main", ["/t/probe"]).output
            #expect(probe == "newuser: Operation not permitted\nnewnet: Operation not permitted\nplain: ok\nclone3: Function not implemented\n", "\(probe)")
            let unshare = try node.runcExec(pod, container: "main", ["unshare", "-U", "true"])
            #expect(unshare.status != 0, "unshare -U is refused: \(unshare.output)")
        }
    }

    @Test("stats/summary reports CPU time, memory working set, pids and network bytes from the node")
    func stats() async throws {
        try await withNode { node in
            try await node.createPod(Manifest.pod("busy", [Manifest.container("main", "head -c 20m /dev/zero > /dev/shm/fill; while :; do :; done", extra: [
                "resources": ["limits": ["cpu": "300m"]],
            ])]))
            _ = try await node.waitForPod("busy", "Running") { $0.status?.phase == "Running" }
            // The busy loop's CPU time grows to 300 ms (1 s at its 300m limit; longer on a loaded
            // machine, where a fixed 2 s wait saw 295 ms).
            let pod = try await waitFor("300 ms of CPU time in the summary", timeout: 30) { () -> JSONValue? in
                let summary = try await node.api().request(.GET, "/api/v1/nodes/\(node.nodeName)/proxy/stats/summary").checked().json()
                let pod = summary["pods"]?.arrayValue?.first { $0["podRef"]?["name"]?.stringValue == "busy" }
                let cpu = Int(pod?["containers"]?.arrayValue?.first?["cpu"]?["usageCoreNanoSeconds"].map(JSONWriter.string) ?? "0") ?? 0
                return cpu > 300_000_000 ? pod : nil
            }
            let container = pod["containers"]?.arrayValue?.first
            let memory = Int(container?["memory"]?["workingSetBytes"].map(JSONWriter.string) ?? "0") ?? 0
            #expect(memory > 20_000_000, "working set \(memory) bytes with 20 MB in /dev/shm")
            #expect(pod["network"]?["name"]?.stringValue == "eth0")
            #expect((pod["process_stats"]?["process_count"]?.intValue ?? 0) >= 1)
        }
    }

    @Test("restart policies: Always backs off (CrashLoopBackOff), OnFailure succeeds, Never fails with the exit code")
    func restartPolicies() async throws {
        try await withNode { node in
            try await node.createPod(Manifest.pod("crash", [Manifest.container("main", "echo run; exit 3")]))
            try await node.createPod(Manifest.pod("done", [Manifest.container("main", "exit 0")], restartPolicy: "OnFailure"))
            try await node.createPod(Manifest.pod("fail", [Manifest.container("main", "exit 7")], restartPolicy: "Never"))
            let crash = try await node.waitForPod("crash", timeout: 40, "restarted once and backing off") {
                ($0.container("main")?.restartCount ?? 0) >= 1 && $0.container("main")?.state?.waiting?.reason == "CrashLoopBackOff"
            }
            #expect(crash.container("main")?.lastState?.terminated?.exitCode == 3)
            let done = try await node.waitForPod("done", "Succeeded") { $0.status?.phase == "Succeeded" }
            #expect(done.container("main")?.state?.terminated?.reason == "Completed")
            let fail = try await node.waitForPod("fail", "Failed") { $0.status?.phase == "Failed" }
            #expect(fail.container("main")?.state?.terminated?.exitCode == 7)
            #expect(fail.container("main")?.restartCount == 0)
            let previous = try await node.logs("crash", query: "previous=true")
            #expect(previous == "run\n")
        }
    }

    @Test("an image that does not exist and a command that does not exist are reported, other pods unaffected")
    func badInput() async throws {
        try await withNode { node in
            try await node.createPod(Manifest.pod("noimage", [["name": "main", "image": "berth/does-not-exist:1"]]))
            try await node.createPod(Manifest.pod("nocommand", [["name": "main", "image": "berth/busybox:latest", "command": ["/no/such/binary"]]]))
            try await node.createPod(Manifest.pod("fine", [Manifest.container("main", "sleep 3600")]))
            let noImage = try await node.waitForPod("noimage", "image error") {
                ["ErrImagePull", "ImagePullBackOff"].contains($0.container("main")?.state?.waiting?.reason ?? "")
            }
            #expect(noImage.status?.phase == "Pending")
            let message = noImage.container("main")?.state?.waiting?.message ?? ""
            #expect(message.contains("failed to pull image \"docker.io/berth/does-not-exist:1\""), "\(message)")
            let noCommand = try await node.waitForPod("nocommand", "command error") {
                let waiting = $0.container("main")?.state?.waiting?.reason ?? ""
                let terminated = $0.container("main")?.lastState?.terminated?.exitCode
                return waiting == "CreateContainerError" || (terminated ?? 0) != 0
            }
            #expect(noCommand.status?.phase != "Running" || noCommand.container("main")?.ready == false)
            _ = try await node.waitForPod("fine", "Running") { $0.status?.phase == "Running" }
        }
    }
}
