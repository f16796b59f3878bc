import BerthClient
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `discovery.k8s.io/v1` EndpointSlices follow a Service's Endpoints; `kubectl describe
/// service` (which reads slices) shows the pods' addresses instead of `<none>`.
@Suite("EndpointSlices", .blockingAllowed)
struct EndpointSliceTests {
    static let manifest = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          tolerations: [{key: berth.dev/simulated, operator: Exists}]
          containers: [{name: main, image: berth/busybox:latest, ports: [{containerPort: 8080}]}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec:
      selector: {app: web}
      ports: [{name: http, port: 80, targetPort: 8080}]
    """

    @Test func slicesFollowEndpoints() async throws {
        try await SimulatedCluster.run(nodes: 2, prefix: "eps") { cluster in
            let client = cluster.client
            func slices() async throws -> [JSONValue] {
                try await client.request(.GET, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb")
                    .checked().json()["items"]?.arrayValue ?? []
            }
            func readyAddresses() async throws -> Set<String> {
                Set(try await slices().flatMap { $0["endpoints"]?.arrayValue ?? [] }
                    .filter { $0.value(at: ["conditions", "ready"]) == true }.compactMap { $0["addresses"]?.arrayValue?.first?.stringValue })
            }
            #expect(try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest).status == 0)
            let addresses = try await waitFor("three ready endpoints in the slice", timeout: 60) { () -> Set<String>? in
                let found = try await readyAddresses()
                return found.count == 3 ? found : nil
            }
            let endpoints = try await client.request(.GET, "/api/v1/namespaces/default/endpoints/web").checked().json()
            let fromEndpoints = Set((endpoints["subsets"]?.arrayValue ?? []).flatMap { $0["addresses"]?.arrayValue ?? [] }.compactMap { $0["ip"]?.stringValue })
            #expect(addresses == fromEndpoints)
            let slice = try #require(try await slices().first)
            #expect(slice["ports"] == [["name": "http", "port": 8080, "protocol": "TCP"]])
            #expect(slice.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first?["kind"] == "Service")

            let described = try cluster.kubectl(["describe", "service", "web"])
            let line = described.output.split(separator: "\n").first { $0.hasPrefix("Endpoints:") }.map(String.init) ?? ""
            #expect(addresses.allSatisfy { line.contains("\($0):8080") }, "\(described.output)")
            let table = try cluster.kubectl(["get", "endpointslices"])
            #expect(table.output.contains("IPv4") && table.output.contains("8080"), "\(table.output)")

            #expect(try cluster.kubectl(["scale", "deployment", "web", "--replicas=0"]).status == 0)
            _ = try await waitFor("an empty slice", timeout: 30) { () -> Bool? in
                let all = try await slices()
                return all.count == 1 && (all[0]["endpoints"]?.arrayValue ?? []).isEmpty ? true : nil
            }
            // A slice deleted by hand comes back; the Service deleted, its slices go.
            let name = try #require(try await slices().first?.value(at: ["metadata", "name"])?.stringValue)
            _ = try await client.request(.DELETE, "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/\(name)").checked()
            _ = try await waitFor("the slice recreated", timeout: 30) { try await slices().count == 1 ? true : nil }
            #expect(try cluster.kubectl(["delete", "service", "web"]).status == 0)
            _ = try await waitFor("slices gone with the Service", timeout: 30) { try await slices().isEmpty ? true : nil }
        }
    }
}
