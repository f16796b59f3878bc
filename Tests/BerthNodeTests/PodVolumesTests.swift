import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Volumes as containers see them on a real node: emptyDir shared between containers, configMap
/// and secret keys as files with their modes, downwardAPI metadata and resources (following label
/// changes), projected volumes merging all three on a tmpfs; the downward API in env as well. Root only.
@Suite("pod volumes on a node", .serialized, .blockingAllowed)
struct PodVolumesTests {
    static let volumes: JSONValue = [
        ["name": "cfg", "configMap": ["name": "settings", "items": [["key": "greeting", "path": "sub/greeting.txt", "mode": 0o600]]]],
        ["name": "sec", "secret": ["secretName": "creds", "defaultMode": 0o400]],
        ["name": "info", "downwardAPI": ["items": [
            ["path": "labels", "fieldRef": ["fieldPath": "metadata.labels"]],
            ["path": "name", "fieldRef": ["fieldPath": "metadata.name"]],
            ["path": "note", "fieldRef": ["fieldPath": "metadata.annotations['note']"]],
            ["path": "mem", "resourceFieldRef": ["containerName": "main", "resource": "limits.memory", "divisor": "1Mi"]],
        ]]],
        ["name": "all", "projected": ["defaultMode": 0o440, "sources": [
            ["configMap": ["name": "settings"]],
            ["secret": ["name": "creds", "items": [["key": "password", "path": "pw"]]]],
            ["downwardAPI": ["items": [["path": "ns", "fieldRef": ["fieldPath": "metadata.namespace"]]]]],
        ]]],
        ["name": "scratch", "emptyDir": [:]],
    ]

    static let mounts: JSONValue = [
        ["name": "cfg", "mountPath": "/etc/cfg"], ["name": "sec", "mountPath": "/etc/sec"], ["name": "info", "mountPath": "/etc/info"],
        ["name": "all", "mountPath": "/etc/all"], ["name": "scratch", "mountPath": "/scratch"],
    ]

    @Test("configMap, secret, downwardAPI, projected and emptyDir volumes: contents, modes, tmpfs, label updates")
    func fileVolumes() async throws {
        try await withNode { node in
            let api = try node.api()
            _ = try await api.request(.POST, "/api/v1/namespaces/default/configmaps", body: JSONWriter.bytes([
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "settings"], "data": ["greeting": "hello", "color": "blue"],
            ])).checked()
            _ = try await api.request(.POST, "/api/v1/namespaces/default/secrets", body: JSONWriter.bytes([
                "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "creds"], "stringData": ["password": "s3cret"],
            ])).checked()
            var manifest = Manifest.pod("vols", [
                Manifest.container("main", "echo \"$POD $APP $MEM $CPU\" > /scratch/env; sleep 3600", extra: [
                    "volumeMounts": Self.mounts, "resources": ["limits": ["memory": "64Mi", "cpu": "250m"]],
                    "env": [
                        ["name": "POD", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]],
                        ["name": "APP", "valueFrom": ["fieldRef": ["fieldPath": "metadata.labels['app']"]]],
                        ["name": "MEM", "valueFrom": ["resourceFieldRef": ["resource": "limits.memory", "divisor": "1Mi"]]],
                        ["name": "CPU", "valueFrom": ["resourceFieldRef": ["resource": "limits.cpu", "divisor": "1m"]]],
                    ],
                ]),
                Manifest.container("side", "echo from-side > /shared/x; sleep 3600", extra: ["volumeMounts": [["name": "scratch", "mountPath": "/shared"]]]),
            ], extra: ["volumes": Self.volumes])
            manifest.set(["app": "vols", "tier": "web"], at: ["metadata", "labels"])
            manifest.set(["note": "first"], at: ["metadata", "annotations"])
            try await node.createPod(manifest)
            let pod = try await node.waitForPod("vols", "Running") { $0.status?.phase == "Running" && $0.isReady }
            func run(_ script: String) throws -> String {
                try node.runcExec(pod, container: "main", ["sh", "-c", script]).output
            }
            #expect(try run("cat /etc/cfg/sub/greeting.txt; stat -c %a /etc/cfg/sub/greeting.txt; ls /etc/cfg") == "hello600\nsub\n")
            #expect(try run("cat /etc/sec/password; echo; stat -L -c %a /etc/sec/password") == "s3cret\n400\n")
            #expect(try run("cat /etc/info/labels") == "app=\"vols\"\ntier=\"web\"")
            #expect(try run("cat /etc/info/name /etc/info/note /etc/info/mem") == "volsfirst64")
            #expect(try run("ls /etc/all | sort | tr '\\n' ' '; cat /etc/all/pw /etc/all/ns; stat -L -c %a /etc/all/color") == "color greeting ns pw s3cretdefault440\n")
            let mounts = try run("grep -E ' /etc/(sec|all|cfg) ' /proc/mounts")
            #expect(mounts.split(separator: "\n").filter { $0.contains("tmpfs") }.count == 2, "secret and projected on tmpfs: \(mounts)")
            #expect(try run("cat /scratch/x") == "from-side\n")
            #expect(try run("cat /scratch/env") == "vols vols 64 250\n")

            let patch = JSONWriter.bytes(["metadata": ["labels": ["tier": "api"], "annotations": ["note": "second"]]])
            _ = try await api.request(.PATCH, "/api/v1/namespaces/default/pods/vols", body: patch, contentType: "application/merge-patch+json").checked()
            var labels = "", note = ""
            for _ in 0..<50 {
                labels = try run("cat /etc/info/labels")
                note = try run("cat /etc/info/note")
                if labels.contains("api") && note == "second" { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(labels == "app=\"vols\"\ntier=\"api\"")
            #expect(note == "second")
            try await node.deletePod("vols")
            #expect(node.leftovers(podUID: pod.metadata.uid ?? "").isEmpty)
        }
    }

    @Test("a ConfigMap edited while its pod runs: the mounted files change without a restart (atomically, through ..data); a subPath mount keeps the old file")
    func hotUpdate() async throws {
        try await withNode { node in
            let api = try node.api()
            _ = try await api.request(.POST, "/api/v1/namespaces/default/configmaps", body: JSONWriter.bytes([
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "live"], "data": ["mode": "blue", "size": "1"],
            ])).checked()
            let manifest = Manifest.pod("hot", [Manifest.container("main", "sleep 3600", extra: ["volumeMounts": [
                ["name": "cfg", "mountPath": "/etc/live"], ["name": "cfg", "mountPath": "/etc/pinned-mode", "subPath": "mode"],
            ]])], extra: ["volumes": [["name": "cfg", "configMap": ["name": "live"]]]])
            try await node.createPod(manifest)
            let pod = try await node.waitForPod("hot", "Running") { $0.status?.phase == "Running" }
            func run(_ script: String) throws -> String { try node.runcExec(pod, container: "main", ["sh", "-c", script]).output }
            #expect(try run("cat /etc/live/mode /etc/live/size /etc/pinned-mode") == "blue1blue")
            #expect(try run("readlink /etc/live/mode; readlink /etc/live/..data | cut -c1-2") == "..data/mode\n..\n")
            let edit = JSONWriter.bytes(["data": ["mode": "green", "size": .null, "extra": "x"]])
            _ = try await api.request(.PATCH, "/api/v1/namespaces/default/configmaps/live", body: edit, contentType: "application/merge-patch+json").checked()
            var seen = ""
            for _ in 0..<150 {
                seen = try run("cat /etc/live/mode; ls /etc/live | tr '\\n' ' '")
                if seen == "greenextra mode " { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(seen == "greenextra mode ", "the volume follows the ConfigMap: a changed key, a removed key, a new key")
            #expect(try run("cat /etc/pinned-mode") == "blue", "a subPath mount is not updated, as in Kubernetes")
            let after = try await node.pod("hot")
            #expect(after.status?.containerStatuses?.first?.restartCount == 0, "no restart")
            #expect(after.status?.containerStatuses?.first?.containerID == pod.status?.containerStatuses?.first?.containerID)
            try await node.deletePod("hot")
        }
    }

    @Test("local storage limits: an emptyDir past its sizeLimit and a container past its ephemeral-storage limit evict the pod; a Memory emptyDir is a sized tmpfs")
    func ephemeralStorageLimits() async throws {
        try await withNode { node in
            let scratch = Manifest.pod("fills-dir", [Manifest.container("main", "dd if=/dev/zero of=/scratch/big bs=1M count=12; sleep 3600", extra: [
                "volumeMounts": [["name": "scratch", "mountPath": "/scratch"], ["name": "ram", "mountPath": "/ram"]],
            ])], extra: ["volumes": [["name": "scratch", "emptyDir": ["sizeLimit": "5Mi"]], ["name": "ram", "emptyDir": ["medium": "Memory", "sizeLimit": "8Mi"]]]])
            try await node.createPod(scratch)
            let running = try await node.waitForPod("fills-dir", "Running") { $0.status?.phase == "Running" || $0.status?.phase == "Failed" }
            if running.status?.phase == "Running" {
                let ram = try node.runcExec(running, container: "main", ["sh", "-c", "grep ' /ram ' /proc/mounts"]).output
                #expect(ram.contains("tmpfs") && ram.contains("size=8192k"), "\(ram)")
            }
            let evicted = try await node.waitForPod("fills-dir", timeout: 40, "Evicted") { $0.status?.phase == "Failed" }
            #expect(evicted.status?.reason == "Evicted")
            #expect(evicted.status?.message?.contains("Usage of EmptyDir volume \"scratch\" exceeds the limit \"5Mi\"") == true, "\(evicted.status?.message ?? "")")

            let layer = Manifest.pod("fills-layer", [Manifest.container("main", "dd if=/dev/zero of=/big bs=1M count=12; sleep 3600", extra: [
                "resources": ["limits": ["ephemeral-storage": "4Mi"]],
            ])])
            try await node.createPod(layer)
            let gone = try await node.waitForPod("fills-layer", timeout: 40, "Evicted") { $0.status?.phase == "Failed" }
            #expect(gone.status?.message?.contains("Container main exceeded its local ephemeral storage limit \"4Mi\"") == true, "\(gone.status?.message ?? "")")
            try await node.deletePod("fills-dir")
            try await node.deletePod("fills-layer")
        }
    }

    @Test("an inline nfs volume is refused when written (a projected serviceAccountToken is taken), a missing configMap key is reported, nothing runs")
    func unsupportedSources() async throws {
        try await withNode { node in
            let api = try node.api()
            // Volume types no node can provide are refused at admission (they used to be
            // accepted and left the pod in ContainerCreating while the node retried).
            let inline: JSONValue = [["name": "data", "nfs": ["server": "100.72.9.9", "path": "/export"]]]
            for (name, volumes, field) in [("data", inline, "spec.volumes[0].nfs")] {
                var pod = Manifest.pod(name, [Manifest.container("main", "sleep 3600", extra: ["volumeMounts": [["name": .string(name), "mountPath": "/v"]]])], extra: ["volumes": volumes])
                pod.set(.string(node.nodeName), at: ["spec", "nodeName"])
                let reply = try await api.request(.POST, "/api/v1/namespaces/default/pods", body: JSONWriter.bytes(pod))
                #expect(reply.status == 422, "\(name): \(reply.status)")
                let status = try JSONParser.parse(reply.body)
                guard case .array(let causes)? = status["details"]?["causes"] else { Issue.record("no causes: \(status)"); continue }
                #expect(causes.first?["field"] == .string(field), "\(status)")
                #expect(status["message"]?.stringValue?.contains("not available in Berth inline") == true, "\(status)")
            }
            _ = try await api.request(.POST, "/api/v1/namespaces/default/configmaps", body: JSONWriter.bytes([
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "small"], "data": ["a": "1"],
            ])).checked()
            let missing: JSONValue = [["name": "cfg", "configMap": ["name": "small", "items": [["key": "b", "path": "b"]]]]]
            try await node.createPod(Manifest.pod("nokey", [Manifest.container("main", "sleep 3600", extra: ["volumeMounts": [["name": "cfg", "mountPath": "/c"]]])],
                                                  extra: ["volumes": missing]))
            let noKey = try await node.waitForPod("nokey", "waiting with the reason") {
                $0.container("main")?.state?.waiting?.message?.contains("no key \"b\"") == true
            }
            #expect(noKey.container("main")?.state?.waiting?.reason == "CreateContainerConfigError")
        }
    }
}
