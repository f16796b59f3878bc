@testable import BerthAPIServer
import BerthCore
import BerthStore
import BerthTestSupport
import Testing

/// The node authorizer's copy of a pod stands in for the handler's first read of that pod
/// only: not for another object, not for a retry after a conflict.
@Suite("prefetched objects", .blockingAllowed)
struct PrefetchedObjectTests {
    @Test func theAuthorizersCopyServesOnlyTheFirstReadOfTheSameObject() async throws {
        try await APIHarness.run { harness, client in
            let server = harness.server
            for name in ["a", "b"] {
                let created = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap(name))
                #expect(created.status == 201)
            }
            let key = server.storage.key(.configMap, namespace: "default", name: "a")
            let copy: JSONValue = ["metadata": ["name": "a", "namespace": "default", "resourceVersion": "1"], "marker": "prefetched"]
            let reads = try await PrefetchedObject.$current.withValue(PrefetchedObject(key: key, object: copy)) {
                (try await server.readForRequest(.configMap, namespace: "default", name: "a", firstAttempt: true),
                 try await server.readForRequest(.configMap, namespace: "default", name: "a", firstAttempt: false),
                 try await server.readForRequest(.configMap, namespace: "default", name: "b", firstAttempt: true))
            }
            #expect(reads.0["marker"] == "prefetched")
            #expect(reads.1["marker"] == nil && reads.1["data"]?["a"] == "1", "a retry reads the store")
            #expect(reads.2.value(at: ["metadata", "name"]) == "b")
            let outside = try await server.readForRequest(.configMap, namespace: "default", name: "a", firstAttempt: true)
            #expect(outside["marker"] == nil, "no copy outside the request")
        }
    }
}
