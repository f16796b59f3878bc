import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// A StatefulSet on a real node: pods `web-0…2` started in order, each with its own sized claim
/// from `volumeClaimTemplates`; a deleted pod comes back under its name with its data; a new
/// template rolls out from the highest ordinal down (every pod updated, data kept); scaling down
/// removes the highest ordinal and keeps its claim (retention Retain).
@Suite("statefulsets on a node", .serialized, .blockingAllowed)
struct StatefulSetTests {
    static func set(image: String = "berth/busybox:latest", marker: String) -> JSONValue {
        [
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": ["name": "web"],
            "spec": [
                "replicas": 3, "serviceName": "web", "selector": ["matchLabels": ["app": "web"]],
                "template": ["metadata": ["labels": ["app": "web"]], "spec": ["terminationGracePeriodSeconds": 1, "containers": [[
                    "name": "main", "image": .string(image),
                    "command": ["sh", "-c", .string("[ -f /data/id ] || hostname > /data/id; echo \(marker) > /data/version; sleep 3600")],
                    "volumeMounts": [["name": "data", "mountPath": "/data"]],
                    "readinessProbe": ["exec": ["command": ["cat", "/data/version"]], "periodSeconds": 1],
                ]]]],
                "volumeClaimTemplates": [["metadata": ["name": "data"], "spec": ["accessModes": ["ReadWriteOnce"], "resources": ["requests": ["storage": "20Mi"]]]]],
            ],
        ]
    }

    func get(_ api: APIClient, _ path: String) async throws -> JSONValue { try JSONParser.parse(try await api.request(.GET, path).checked().body) }

    func waitFor(_ what: String, timeout: Double = 90, _ check: () async throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? await check()) == true { return }
            try await Task.sleep(for: .milliseconds(300))
        }
        Issue.record("timed out waiting for \(what)")
        throw BerthError(.timeout, what)
    }

    @Test("ordered start, claims per pod, identity and data kept across deletion and rolling update, scale down keeps claims")
    func statefulSetLifecycle() async throws {
        try await withNode { node in
            let api = try node.api()
            let headless: JSONValue = ["apiVersion": "v1", "kind": "Service", "metadata": ["name": "web"],
                                       "spec": ["clusterIP": "None", "selector": ["app": "web"], "ports": [["port": 80]]]]
            _ = try await api.request(.POST, "/api/v1/namespaces/default/services", body: JSONWriter.bytes(headless)).checked()
            _ = try await api.request(.POST, "/apis/apps/v1/namespaces/default/statefulsets", body: JSONWriter.bytes(Self.set(marker: "v1"))).checked()
            func ready() async throws -> Int { Int(try await get(api, "/apis/apps/v1/namespaces/default/statefulsets/web").value(at: ["status", "readyReplicas"])?.intValue ?? 0) }
            try await waitFor("3 ready replicas") { try await ready() == 3 }
            var created: [String] = []
            for ordinal in 0..<3 {
                let pod = try await node.pod("web-\(ordinal)")
                created.append(pod.metadata.creationTimestamp ?? "")
                #expect(pod.spec?.hostname == "web-\(ordinal)")
                #expect(pod.spec?.subdomain == "web")
                let claim = try await get(api, "/api/v1/namespaces/default/persistentvolumeclaims/data-web-\(ordinal)")
                #expect(claim.value(at: ["status", "phase"]) == "Bound")
                #expect(try node.runcExec(pod, container: "main", ["cat", "/data/id"]).output == "web-\(ordinal)\n")
            }
            #expect(created == created.sorted(), "OrderedReady starts web-0, then web-1, then web-2: \(created)")
            // Stable DNS through the headless Service: NAME-N.SERVICE.NAMESPACE.svc.cluster.local.
            let web1 = try await node.pod("web-1")
            var answer = ""
            for _ in 0..<40 {
                answer = (try? node.runcExec(try await node.pod("web-0"), container: "main", ["nslookup", "web-1.web.default.svc.cluster.local"]).output) ?? ""
                if let ip = web1.status?.podIP, answer.contains(ip) { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(answer.contains(web1.status?.podIP ?? "none"), "\(answer)")

            // A deleted pod comes back under its name, with its claim and data.
            let before = try await node.pod("web-1")
            _ = try await api.request(.DELETE, "/api/v1/namespaces/default/pods/web-1").checked()
            try await waitFor("web-1 back") {
                let pod = try await node.pod("web-1")
                return pod.metadata.uid != before.metadata.uid && pod.isReady
            }
            #expect(try node.runcExec(try await node.pod("web-1"), container: "main", ["cat", "/data/id"]).output == "web-1\n")

            // Rolling update: every pod replaced, data kept, revisions recorded.
            let patch = JSONWriter.bytes(["spec": ["template": ["spec": ["containers": [["name": "main",
                "command": ["sh", "-c", "[ -f /data/id ] || hostname > /data/id; echo v2 > /data/version; sleep 3600"]]]]]]])
            _ = try await api.request(.PATCH, "/apis/apps/v1/namespaces/default/statefulsets/web", body: patch, contentType: "application/strategic-merge-patch+json").checked()
            try await waitFor("the rollout to finish", timeout: 120) {
                let set = try await get(api, "/apis/apps/v1/namespaces/default/statefulsets/web")
                // As `kubectl rollout status` reads it: the controller has seen the new template.
                return set.value(at: ["status", "observedGeneration"]) == set.value(at: ["metadata", "generation"])
                    && set.value(at: ["status", "updatedReplicas"])?.intValue == 3 && set.value(at: ["status", "readyReplicas"])?.intValue == 3
                    && set.value(at: ["status", "currentRevision"]) == set.value(at: ["status", "updateRevision"])
            }
            for ordinal in 0..<3 {
                let pod = try await node.pod("web-\(ordinal)")
                let shown = try node.runcExec(pod, container: "main", ["cat", "/data/id", "/data/version"])
                #expect(shown.output == "web-\(ordinal)\nv2\n", "\(shown.output) \(shown.error)")
            }
            let revisions = try await get(api, "/apis/apps/v1/namespaces/default/controllerrevisions")
            #expect((revisions["items"]?.arrayValue ?? []).count == 2, "one revision per template")

            // Scale down: web-2 goes, its claim stays (whenScaled: Retain by default).
            _ = try await api.request(.PATCH, "/apis/apps/v1/namespaces/default/statefulsets/web/scale",
                                      body: JSONWriter.bytes(["spec": ["replicas": 2]]), contentType: "application/merge-patch+json").checked()
            try await waitFor("web-2 to go") { try await api.request(.GET, "/api/v1/namespaces/default/pods/web-2").status == 404 }
            #expect(try await api.request(.GET, "/api/v1/namespaces/default/persistentvolumeclaims/data-web-2").status == 200)
            _ = try await api.request(.DELETE, "/apis/apps/v1/namespaces/default/statefulsets/web").checked()
            try await waitFor("the pods to go") {
                (try await get(api, "/api/v1/namespaces/default/pods")["items"]?.arrayValue ?? []).isEmpty
            }
            for ordinal in 0..<3 { _ = try await api.request(.DELETE, "/api/v1/namespaces/default/persistentvolumeclaims/data-web-\(ordinal)") }
            _ = try await api.request(.DELETE, "/api/v1/namespaces/default/services/web")
        }
    }
}
