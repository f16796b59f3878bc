import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Tenants with kubectl 1.33 and users made by `berth user create`: a tenant with two
/// namespaces and a quota of 2 CPU refuses the third 1-CPU pod across them; its node pool is put
/// on its pods; its owner creates a third namespace that joins it; owners see only their
/// namespaces and tenants; tenant namespaces default to Pod Security baseline and are isolated.
@Suite("Tenants", .serialized, .blockingAllowed)
struct TenantTests {
    @Test func tenantWithQuotaNodePoolAndOwner() async throws {
        let server = BerthServerProcess(role: "server")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-tenant-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer {
            server.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try await server.start()
        func admin(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
        }
        var configs: [String: String] = [:]
        for user in ["alice", "bob"] {
            configs[user] = directory + "/\(user).kubeconfig"
            let made = try runCommand(BerthServerProcess.binary, ["user", "create", user, "--kubeconfig-out", configs[user]!, "--data-dir", server.dataDirectory])
            #expect(made.status == 0, "\(made.error)")
        }
        func alice(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", configs["alice"]!] + arguments, input: input)
        }
        func bob(_ arguments: [String], input: String? = nil) throws -> CommandResult {
            try runCommand(kubectlPath, ["--kubeconfig", configs["bob"]!] + arguments, input: input)
        }
        let tenants = """
            apiVersion: berth.dev/v1
            kind: Tenant
            metadata: {name: red}
            spec:
              owners: [{kind: User, name: alice}]
              namespaces: [ra, rb]
              quota: {hard: {requests.cpu: "2"}}
              nodeSelector: {pool: red}
              isolation: true
            ---
            apiVersion: berth.dev/v1
            kind: Tenant
            metadata: {name: blue}
            spec:
              owners: [{kind: User, name: bob}]
              namespaces: [ba]
            """
        let applied = try admin(["apply", "-f", "-"], input: tenants)
        #expect(applied.status == 0, "\(applied.error)")
        for namespace in ["ra", "rb", "ba"] { #expect(try admin(["create", "namespace", namespace]).status == 0) }
        // The controller counts once before the quota admits anything.
        var counted = ""
        for _ in 0..<100 {
            counted = try admin(["get", "tenant", "red", "-o", "jsonpath={.status.used.requests\\.cpu}"]).output
            if counted == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(counted == "0")

        func pod(_ name: String) -> String {
            "apiVersion: v1\nkind: Pod\nmetadata: {name: \(name)}\nspec: {containers: [{name: c, image: berth/busybox:latest, resources: {requests: {cpu: \"1\"}}}]}\n"
        }
        let first = try alice(["apply", "-n", "ra", "-f", "-"], input: pod("one"))
        #expect(first.status == 0, "\(first.error)")
        #expect(try alice(["apply", "-n", "rb", "-f", "-"], input: pod("two")).status == 0)
        let third = try alice(["apply", "-n", "ra", "-f", "-"], input: pod("three"))
        #expect(third.status != 0)
        #expect(third.error.contains(#"pods "three" is forbidden: exceeded quota: tenant red, requested: requests.cpu=1, used: requests.cpu=2, limited: requests.cpu=2"#),
                "\(third.error)")
        // The node pool is put on the tenant's pods; a pod asking for another pool is refused.
        #expect(try admin(["get", "pod", "one", "-n", "ra", "-o", "jsonpath={.spec.nodeSelector.pool}"]).output == "red")
        let elsewhere = try alice(["run", "x", "--image=berth/busybox:latest", "-n", "rb", "--overrides", #"{"spec":{"nodeSelector":{"pool":"blue"}}}"#])
        #expect(elsewhere.error.contains("conflicts with its tenant's node pool"), "\(elsewhere.error)")

        // The owner makes a namespace: it joins the tenant at once.
        #expect(try alice(["create", "namespace", "rc"]).status == 0)
        #expect(try alice(["create", "configmap", "settings", "-n", "rc"]).status == 0)
        #expect(try admin(["get", "namespace", "rc", "-o", "jsonpath={.metadata.labels.berth\\.dev/tenant}"]).output == "red")
        #expect(try admin(["get", "tenant", "red", "-o", "jsonpath={.spec.namespaces}"]).output == #"["ra","rb","rc"]"#)

        // Owners see their namespaces and tenants only, and nothing of other tenants.
        #expect(try alice(["get", "namespaces", "-o", "name"]).output == "namespace/ra\nnamespace/rb\nnamespace/rc\n")
        #expect(try bob(["get", "namespaces", "-o", "name"]).output == "namespace/ba\n")
        #expect(try alice(["get", "tenants", "-o", "name"]).output == "tenant.berth.dev/red\n")
        #expect(try alice(["get", "tenant", "blue"]).status != 0)
        let intrusion = try bob(["get", "pods", "-n", "ra"])
        #expect(intrusion.error.contains(#"User "bob" cannot list resource "pods" in API group "" in the namespace "ra""#), "\(intrusion.error)")
        #expect(try bob(["auth", "can-i", "create", "deployments", "-n", "ba"]).output == "yes\n")

        // Tenant namespaces are baseline by default and isolated as the tenant says.
        #expect(try admin(["get", "namespace", "ra", "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}"]).output == "baseline")
        #expect(try admin(["get", "namespace", "ra", "-o", "jsonpath={.metadata.annotations.berth\\.dev/tenant}"]).output == "red")
        #expect(try admin(["get", "namespace", "ba", "-o", "jsonpath={.metadata.annotations.berth\\.dev/tenant}"]).output == "")
        let privileged = try alice(["run", "root", "--image=berth/busybox:latest", "-n", "rc", "--privileged"])
        #expect(privileged.error.contains(#"violates PodSecurity "baseline:latest""#), "\(privileged.error)")

        // Deleting a pod frees the tenant's quota.
        #expect(try alice(["delete", "pod", "one", "-n", "ra", "--grace-period=0", "--force"]).status == 0)
        var freed = ""
        for _ in 0..<100 {
            freed = try admin(["get", "tenant", "red", "-o", "jsonpath={.status.used.requests\\.cpu}"]).output
            if freed == "1" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(freed == "1")
        #expect(try alice(["apply", "-n", "rc", "-f", "-"], input: pod("four")).status == 0)

        // Bad tenants are 422 naming the field; a non-owner may not put a namespace in a tenant.
        let bad = try admin(["apply", "-f", "-"], input: "apiVersion: berth.dev/v1\nkind: Tenant\nmetadata: {name: bad}\nspec: {owners: [{kind: Robot, name: r}], namespaces: [Bad_Name]}\n")
        #expect(bad.status != 0 && bad.error.contains("spec.owners[0].kind") && bad.error.contains("spec.namespaces[0]"), "\(bad.error)")
        let hijack = try bob(["create", "-f", "-"], input: "apiVersion: v1\nkind: Namespace\nmetadata: {name: sneaky, labels: {berth.dev/tenant: red}}\n")
        #expect(hijack.status != 0 && hijack.error.contains(#"may not add a namespace to tenant "red""#), "\(hijack.error)")
    }
}
