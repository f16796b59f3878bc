import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// RBAC with kubectl 1.33 and a user made by `berth user create`: a RoleBinding to `edit` in
/// one namespace, 403 in another, only that namespace in `kubectl get ns`, `auth can-i`
/// (and `--list`), `auth whoami`, escalation refused, a ClusterRole aggregated by label.
@Suite("RBAC", .serialized, .blockingAllowed)
struct RBACTests {
    @Test func userWithEditInOneNamespace() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-rbac-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        let aliceConfig = directory + "/alice.kubeconfig"
        let created = try runCommand(BerthServerProcess.binary, ["user", "create", "alice", "--group", "dev", "--ttl", "2h",
                                                                 "--kubeconfig-out", aliceConfig, "--data-dir", server.dataDirectory])
        #expect(created.status == 0, "\(created.error)")
        func admin(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
        }
        func alice(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", aliceConfig] + arguments, input: input)
        }
        for namespace in ["a", "b"] { #expect(try admin(["create", "namespace", namespace]).status == 0) }
        #expect(try admin(["create", "rolebinding", "alice-edit", "--clusterrole=edit", "--user=alice", "-n", "a"]).status == 0)

        let allowed = try alice(["create", "deployment", "web", "--image=berth/busybox:latest", "-n", "a"])
        #expect(allowed.status == 0, "\(allowed.error)")
        let refused = try alice(["create", "deployment", "web", "--image=berth/busybox:latest", "-n", "b"])
        #expect(refused.status != 0)
        #expect(refused.error.contains(#"deployments.apps is forbidden: User "alice" cannot create resource "deployments" in API group "apps" in the namespace "b""#),
                "\(refused.error)")
        let namespaces = try alice(["get", "namespaces", "-o", "name"])
        #expect(namespaces.status == 0 && namespaces.output == "namespace/a\n", "\(namespaces.output) \(namespaces.error)")
        #expect(try alice(["get", "pods", "-n", "b"]).status != 0)
        // A watch is filtered the same way: a namespace created meanwhile elsewhere is not shown.
        let watcher = Task { try runCommand(kubectlPath, ["--kubeconfig", aliceConfig, "get", "namespaces", "-w", "-o", "name", "--request-timeout=4s"], timeout: 20) }
        try await Task.sleep(for: .seconds(1))
        #expect(try admin(["create", "namespace", "c"]).status == 0)
        let watched = try await watcher.value
        #expect(watched.output.contains("namespace/a") && !watched.output.contains("namespace/b") && !watched.output.contains("namespace/c"),
                "\(watched.output) \(watched.error)")

        #expect(try alice(["auth", "can-i", "create", "deployments", "-n", "a"]).output == "yes\n")
        #expect(try alice(["auth", "can-i", "create", "deployments", "-n", "b"]).output == "no\n")
        #expect(try alice(["auth", "can-i", "get", "secrets", "-n", "a"]).output == "yes\n")
        #expect(try alice(["auth", "can-i", "create", "roles", "-n", "a"]).output == "no\n", "edit does not manage RBAC")
        let list = try alice(["auth", "can-i", "--list", "-n", "a"])
        #expect(list.status == 0 && list.output.contains("deployments.apps") && list.output.contains("selfsubjectaccessreviews.authorization.k8s.io"), "\(list.output) \(list.error)")
        let whoami = try alice(["auth", "whoami", "-o", "json"])
        let identity = try JSONParser.parse(Array(whoami.output.utf8))
        #expect(identity.value(at: ["status", "userInfo", "username"]) == "alice")
        #expect(identity.value(at: ["status", "userInfo", "groups"]) == ["dev", "system:authenticated"])

        // Escalation: with `admin` in a, alice manages roles there, but only with rules she holds.
        #expect(try admin(["create", "rolebinding", "alice-admin", "--clusterrole=admin", "--user=alice", "-n", "a"]).status == 0)
        #expect(try alice(["create", "role", "reader", "--verb=get,list", "--resource=pods", "-n", "a"]).status == 0)
        let escalate = try alice(["create", "role", "nodes", "--verb=get", "--resource=nodes", "-n", "a"])
        #expect(escalate.status != 0 && escalate.error.contains("is attempting to grant RBAC permissions not currently held"), "\(escalate.error)")
        let bindAdmin = try alice(["create", "rolebinding", "bob-all", "--clusterrole=cluster-admin", "--user=bob", "-n", "a"])
        #expect(bindAdmin.status != 0 && bindAdmin.error.contains("not currently held"), "\(bindAdmin.error)")
        #expect(try alice(["create", "rolebinding", "bob-view", "--clusterrole=view", "--user=bob", "-n", "a"]).status == 0)

        // A ClusterRole labelled aggregate-to-view joins view, and so edit and admin.
        #expect(try alice(["auth", "can-i", "list", "leases.coordination.k8s.io", "-n", "a"]).output == "no\n")
        let readers = """
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRole
            metadata: {name: lease-reader, labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}}
            rules: [{apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, list, watch]}]
            """
        #expect(try admin(["apply", "-f", "-"], input: readers).status == 0)
        var aggregated = ""
        for _ in 0..<30 {
            aggregated = try alice(["auth", "can-i", "list", "leases.coordination.k8s.io", "-n", "a"]).output
            if aggregated == "yes\n" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(aggregated == "yes\n")

        // Bad RBAC objects are 422 with the field.
        let bad = try admin(["apply", "-f", "-"], input: "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: bad, namespace: a}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Pod, name: x}\n")
        #expect(bad.status != 0 && bad.error.contains("roleRef.kind"), "\(bad.error)")
        let changed = try admin(["patch", "rolebinding", "alice-edit", "-n", "a", "--type=merge", "-p", #"{"roleRef":{"name":"view"}}"#])
        #expect(changed.status != 0 && changed.error.contains("cannot change roleRef"), "\(changed.error)")
    }
}
