import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The garbage collector through kubectl's three cascade modes, against a control plane without
/// nodes (pods stay Pending, so deletion needs no agent).
@Suite("garbage collection", .serialized, .blockingAllowed)
struct GarbageCollectionTests {
    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: gc}
        spec:
          replicas: 3
          selector: {matchLabels: {app: gc}}
          template:
            metadata: {labels: {app: gc}}
            spec:
              containers: [{name: c, image: berth/busybox:latest}]
        """

    func kubectl(_ server: BerthServerProcess, _ arguments: [String], input: String? = nil) throws -> CommandResult {
        try runCommand(kubectlPath, ["--kubeconfig", server.kubeconfigPath] + arguments, input: input)
    }

    func count(_ server: BerthServerProcess, _ kind: String) throws -> Int {
        try kubectl(server, ["get", kind, "-l", "app=gc", "-o", "name"]).output.split(separator: "\n").count
    }

    func start() async throws -> BerthServerProcess {
        let server = BerthServerProcess()
        try await server.start()
        #expect(try kubectl(server, ["apply", "-f", "-"], input: Self.deployment).status == 0)
        _ = try await waitFor("ReplicaSet and 3 pods", timeout: 30) { () -> Bool? in
            try count(server, "replicasets") == 1 && count(server, "pods") == 3 ? true : nil
        }
        return server
    }

    @Test("background (the default): the Deployment goes at once, its ReplicaSet and pods after it")
    func background() async throws {
        let server = try await start()
        defer { server.cleanUp() }
        #expect(try kubectl(server, ["delete", "deployment", "gc"]).status == 0)
        _ = try await waitFor("dependents collected", timeout: 30) { () -> Bool? in
            try count(server, "replicasets") == 0 && count(server, "pods") == 0 ? true : nil
        }
    }

    @Test("foreground: the Deployment stays, with its finalizer, until its dependents are gone")
    func foreground() async throws {
        let server = try await start()
        defer { server.cleanUp() }
        #expect(try kubectl(server, ["delete", "deployment", "gc", "--cascade=foreground", "--wait=false"]).status == 0)
        let during = try kubectl(server, ["get", "deployment", "gc", "-o", "jsonpath={.metadata.finalizers}"])
        #expect(during.status != 0 || during.output.contains("foregroundDeletion"))
        _ = try await waitFor("everything gone, owner last", timeout: 30) { () -> Bool? in
            let owner = try kubectl(server, ["get", "deployment", "gc"]).status
            let replicaSets = try count(server, "replicasets"), pods = try count(server, "pods")
            return owner != 0 && replicaSets == 0 && pods == 0 ? true : nil
        }
    }

    @Test("orphan: dependents stay and lose their owner reference")
    func orphan() async throws {
        let server = try await start()
        defer { server.cleanUp() }
        #expect(try kubectl(server, ["delete", "deployment", "gc", "--cascade=orphan"]).status == 0)
        _ = try await waitFor("Deployment gone", timeout: 30) { () -> Bool? in try kubectl(server, ["get", "deployment", "gc"]).status != 0 ? true : nil }
        try await Task.sleep(for: .seconds(2))
        #expect(try count(server, "replicasets") == 1)
        #expect(try count(server, "pods") == 3)
        let owners = try kubectl(server, ["get", "replicasets", "-l", "app=gc", "-o", "jsonpath={.items[0].metadata.ownerReferences}"])
        #expect(owners.output.isEmpty, "\(owners.output)")
    }
}
