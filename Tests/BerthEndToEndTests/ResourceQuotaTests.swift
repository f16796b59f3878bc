import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// ResourceQuota with kubectl 1.33 against `berth server` (its quota controller counts):
/// compute requests and limits, object counts, the BestEffort scope, Kubernetes' refusals, the
/// count lowered when pods go, `kubectl describe quota`, and 32 concurrent creators never over.
@Suite("ResourceQuota", .serialized, .blockingAllowed)
struct ResourceQuotaTests {
    static func pod(_ name: String, cpu: String?, limit: String? = nil) -> String {
        var resources = ""
        if let cpu { resources = "\n    resources: {requests: {cpu: \(cpu)}, limits: {cpu: \(limit ?? cpu)}}" }
        return """
            apiVersion: v1
            kind: Pod
            metadata: {name: \(name)}
            spec:
              containers:
              - name: c
                image: berth/busybox:latest\(resources)
            """
    }

    /// Waits until the quota's controller has counted (admission refuses until then).
    static func waitForCount(_ kubectl: ([String]) throws -> CommandResult, _ name: String, namespace: String, resource: String, value: String) async throws {
        for _ in 0..<100 {
            let used = try kubectl(["get", "quota", name, "-n", namespace, "-o", "jsonpath={.status.used['\(resource.replacingOccurrences(of: ".", with: "\\."))']}"])
            if used.output == value { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("quota \(namespace)/\(name) never showed \(resource)=\(value)")
    }

    @Test func computeCountsAndScopes() async throws {
        let server = BerthServerProcess(role: "server")
        defer { server.cleanUp() }
        try await server.start()
        func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
        }
        #expect(try kubectl(["create", "namespace", "q"]).status == 0)
        // Every namespace gets the root CA ConfigMap; it counts as one of its ConfigMaps.
        for _ in 0..<100 where try kubectl(["get", "configmap", "kube-root-ca.crt", "-n", "q"]).status != 0 { try await Task.sleep(for: .milliseconds(100)) }
        let quota = """
            apiVersion: v1
            kind: ResourceQuota
            metadata: {name: compute, namespace: q}
            spec: {hard: {pods: "3", requests.cpu: "1", limits.cpu: "2", count/configmaps: "3"}}
            """
        #expect(try kubectl(["apply", "-f", "-"], input: quota).status == 0)
        try await Self.waitForCount({ try kubectl($0) }, "compute", namespace: "q", resource: "requests.cpu", value: "0")

        #expect(try kubectl(["apply", "-n", "q", "-f", "-"], input: Self.pod("p1", cpu: "500m")).status == 0)
        #expect(try kubectl(["apply", "-n", "q", "-f", "-"], input: Self.pod("p2", cpu: "500m")).status == 0)
        let over = try kubectl(["apply", "-n", "q", "-f", "-"], input: Self.pod("p3", cpu: "500m"))
        #expect(over.status != 0)
        #expect(over.error.contains(#"pods "p3" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=1, limited: requests.cpu=1"#),
                "\(over.error)")
        #expect(try kubectl(["get", "pod", "p3", "-n", "q"]).status != 0, "a refused create changes nothing")
        let unspecified = try kubectl(["apply", "-n", "q", "-f", "-"], input: Self.pod("p4", cpu: nil))
        #expect(unspecified.error.contains("failed quota: compute: must specify limits.cpu for: c; requests.cpu for: c"), "\(unspecified.error)")

        // Object counts.
        #expect(try kubectl(["create", "configmap", "a", "-n", "q"]).status == 0)
        #expect(try kubectl(["create", "configmap", "b", "-n", "q"]).status == 0)
        let third = try kubectl(["create", "configmap", "c", "-n", "q"])
        #expect(third.error.contains("exceeded quota: compute, requested: count/configmaps=1, used: count/configmaps=3, limited: count/configmaps=3"), "\(third.error)")

        let described = try kubectl(["describe", "quota", "compute", "-n", "q"])
        #expect(described.output.contains("requests.cpu") && described.output.contains("count/configmaps"), "\(described.output)")
        #expect(described.output.range(of: #"requests\.cpu\s+1\s+1"#, options: .regularExpression) != nil, "\(described.output)")
        let table = try kubectl(["get", "quota", "-n", "q"])
        #expect(table.output.contains("requests.cpu: 1/1") && table.output.contains("limits.cpu: 1/2"), "\(table.output)")

        // A pod deleted frees its share (the controller recounts).
        #expect(try kubectl(["delete", "pod", "p1", "-n", "q", "--grace-period=0", "--force"]).status == 0)
        try await Self.waitForCount({ try kubectl($0) }, "compute", namespace: "q", resource: "requests.cpu", value: "500m")
        #expect(try kubectl(["apply", "-n", "q", "-f", "-"], input: Self.pod("p5", cpu: "500m")).status == 0)

        // Scopes: a BestEffort quota counts only pods without requests or limits.
        #expect(try kubectl(["create", "namespace", "be"]).status == 0)
        let scoped = try kubectl(["create", "quota", "best", "--hard=pods=1", "--scopes=BestEffort", "-n", "be"])
        #expect(scoped.status == 0, "\(scoped.error)")
        try await Self.waitForCount({ try kubectl($0) }, "best", namespace: "be", resource: "pods", value: "0")
        #expect(try kubectl(["apply", "-n", "be", "-f", "-"], input: Self.pod("e1", cpu: nil)).status == 0)
        let second = try kubectl(["apply", "-n", "be", "-f", "-"], input: Self.pod("e2", cpu: nil))
        #expect(second.error.contains("exceeded quota: best, requested: pods=1, used: pods=1, limited: pods=1"), "\(second.error)")
        #expect(try kubectl(["apply", "-n", "be", "-f", "-"], input: Self.pod("g1", cpu: "100m")).status == 0)

        // An update that adds node ports is charged like a create.
        #expect(try kubectl(["create", "quota", "ports", "--hard=services.nodeports=1", "-n", "q"]).status == 0)
        try await Self.waitForCount({ try kubectl($0) }, "ports", namespace: "q", resource: "services.nodeports", value: "0")
        #expect(try kubectl(["create", "service", "clusterip", "two", "--tcp=80:80", "--tcp=443:443", "-n", "q"]).status == 0)
        let opened = try kubectl(["patch", "service", "two", "-n", "q", "-p", #"{"spec":{"type":"NodePort"}}"#])
        #expect(opened.status != 0 && opened.error.contains("exceeded quota: ports, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"),
                "\(opened.error)")
        #expect(try kubectl(["get", "service", "two", "-n", "q", "-o", "jsonpath={.spec.type}"]).output == "ClusterIP")

        // Bad quotas are 422 naming the field.
        let bad = try kubectl(["apply", "-f", "-"], input: "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: bad, namespace: q}\nspec: {hard: {frobs: \"1\"}, scopes: [Sometimes]}\n")
        #expect(bad.status != 0 && bad.error.contains("spec.hard[frobs]") && bad.error.contains("spec.scopes[0]"), "\(bad.error)")
    }

    @Test func concurrentCreatorsNeverExceed() async throws {
        let server = BerthServerProcess(role: "server")
        defer { server.cleanUp() }
        try await server.start()
        let client = try server.client()
        defer { Task { [client] in await client.shutdown() } }
        _ = try await client.request(.POST, "/api/v1/namespaces", body: JSONWriter.bytes(["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "race"]])).checked()
        let quota: JSONValue = ["apiVersion": "v1", "kind": "ResourceQuota", "metadata": ["name": "cpu", "namespace": "race"],
                                "spec": ["hard": ["requests.cpu": "2", "pods": "1000"]]]
        _ = try await client.request(.POST, "/api/v1/namespaces/race/resourcequotas", body: JSONWriter.bytes(quota)).checked()
        for _ in 0..<100 {
            let reply = try await client.request(.GET, "/api/v1/namespaces/race/resourcequotas/cpu")
            if try JSONParser.parse(reply.body).value(at: ["status", "used", "requests.cpu"]) != nil { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // 32 creators, 4 pods each, 100m each: exactly 20 fit.
        let created = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<32 {
                group.addTask {
                    var count = 0
                    for index in 0..<4 {
                        let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string("p-\(worker)-\(index)")],
                                              "spec": ["containers": [["name": "c", "image": "x", "resources": ["requests": ["cpu": "100m"]]]]]]
                        if let reply = try? await client.request(.POST, "/api/v1/namespaces/race/pods", body: JSONWriter.bytes(pod)), reply.status == 201 { count += 1 }
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(created == 20)
        let list = try JSONParser.parse(try await client.request(.GET, "/api/v1/namespaces/race/pods").checked().body)
        #expect(list["items"]?.arrayValue?.count == 20)
        let stored = try JSONParser.parse(try await client.request(.GET, "/api/v1/namespaces/race/resourcequotas/cpu").checked().body)
        #expect(stored.value(at: ["status", "used", "requests.cpu"]) == "2")
    }
}
