import BerthCore
import BerthImages
import BerthTestSupport
import Foundation
import Testing

extension RegistryEndToEnd {
    /// A Deployment whose image lives in the built-in registry runs on `berth up` (a real
    /// container): the pod pulls with its namespace's ServiceAccount — refused until that account
    /// may pull, no imagePullSecrets — and the image's blobs reach the node's store as hard links
    /// of the registry's files, not as a second copy.
    @Suite("registry images on berth up", .blockingAllowed)
    struct RegistryDeploymentTests {
        @Test func deploymentRunsAnImageFromTheBuiltInRegistry() async throws {
            let bridge = "brregy"
            let fixture = RegistryFixture(role: "up", extraArguments: ["--node-name", "registry-node", "--bridge-name", bridge, "--pod-subnet", "100.96.57.0/24",
                                                                       "--service-cidr", "100.70.0.0/16"])
            defer {
                for _ in 0..<30 {
                    _ = try? fixture.kubectl(["delete", "deployment,pods", "--all", "-n", "apps", "--grace-period=1", "--wait=true", "--timeout=30s"])
                    if (try? fixture.kubectl(["get", "pods", "-n", "apps", "-o", "name"]).output.isEmpty) ?? true { break }
                }
                fixture.server.stop()
                HostLeftovers.remove(dataDirectory: fixture.server.dataDirectory)
                fixture.cleanUp()
                HostLeftovers.removeBridge(bridge)
            }
            try await fixture.start()
            // busybox as an OCI layout, pushed to apps/busybox:v1.
            let store = try ImageStore(root: fixture.work + "/store")
            let image = try BusyboxImage.ensure(in: store)
            try OCILayout.export(image, to: fixture.work + "/busybox", from: store)
            let reference = "\(fixture.host)/apps/busybox:v1"
            let push = try await fixture.copy("oci:\(fixture.work)/busybox:latest", "docker://\(reference)", destinationCredential: fixture.token)
            try #require(push.status == 0, "\(push.error)")

            #expect(try fixture.kubectl(["create", "namespace", "apps"]).status == 0)
            let deployment = """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web, namespace: apps}
            spec:
              replicas: 1
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: c, image: "\(reference)", command: [sleep, "3600"]}]}
            """
            #expect(try fixture.kubectl(["apply", "-f", "-"], input: deployment).status == 0)
            // The default ServiceAccount of apps may not pull yet: the pull is refused.
            let refused = try await waitFor("the pull refused", timeout: 180) { () -> String? in
                let reason = try fixture.kubectl(["get", "pods", "-n", "apps", "-o", "jsonpath={.items[0].status.containerStatuses[0].state.waiting.reason}"]).output
                return reason == "ErrImagePull" || reason == "ImagePullBackOff" ? reason : nil
            }
            #expect(!refused.isEmpty)
            let binding = try fixture.kubectl(["create", "rolebinding", "pull", "-n", "apps", "--clusterrole", "view", "--serviceaccount", "apps:default"])
            #expect(binding.status == 0, "\(binding.error)")
            _ = try fixture.kubectl(["delete", "pods", "--all", "-n", "apps", "--grace-period=0", "--wait=false"])
            let running = try await waitFor("the pod running", timeout: 180) { () -> String? in
                let phase = try fixture.kubectl(["get", "pods", "-n", "apps", "-l", "app=web", "-o", "jsonpath={.items[*].status.phase}"]).output
                return phase == "Running" ? phase : nil
            }
            #expect(running == "Running")
            // The layer in the node's store is the registry's own file (one inode, two names).
            // (skopeo compressed the layer on push: its digest is the registry manifest's.)
            let manifest = try fixture.curl("GET", "/v2/apps/busybox/manifests/v1").json
            let layer = try Digest(parsing: try #require(manifest?["layers"]?.arrayValue?.first?["digest"]?.stringValue))
            var nodeInfo = stat(), registryInfo = stat()
            #expect(stat(fixture.server.dataDirectory + "/node/images/blobs/sha256/\(layer.hex)", &nodeInfo) == 0)
            #expect(stat(fixture.server.dataDirectory + "/registry/blobs/sha256/\(layer.hex)", &registryInfo) == 0)
            #expect(nodeInfo.st_ino == registryInfo.st_ino && nodeInfo.st_nlink >= 2, "hard link, not a copy")
        }
    }
}
