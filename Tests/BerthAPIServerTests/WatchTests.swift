import BerthCore
import BerthStore
import BerthTestSupport
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("watch", .blockingAllowed)
struct WatchTests {
    static func events(_ body: JSONValue) -> [JSONValue] {
        // The test client returns the whole stream; split the newline-delimited events.
        guard case .string(let text) = body else { return [body] }
        return text.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)) }
    }

    static func lines(_ result: (status: Int, json: JSONValue, headers: HTTPFields)) -> [(String, String)] {
        events(result.json).map { ($0["type"]?.stringValue ?? "", $0.value(at: ["object", "metadata", "name"])?.stringValue ?? "") }
    }

    @Test func watchFromRevisionSeesChangesInOrder() async throws {
        try await APIHarness.run { _, client in
            let start = try await client.send(.get, "/api/v1/namespaces/default/configmaps")
            let revision = try #require(start.json.value(at: ["metadata", "resourceVersion"])?.stringValue)
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("a"))
            _ = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/a", json: ["data": ["a": "2"]], contentType: "application/merge-patch+json")
            _ = try await client.send(.post, "/api/v1/namespaces/kube-system/configmaps", json: Fixtures.configMap("other", namespace: "kube-system"))
            _ = try await client.send(.delete, "/api/v1/namespaces/default/configmaps/a")
            let watch = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(revision)&timeoutSeconds=1")
            #expect(watch.status == 200)
            let lines = Self.lines(watch)
            #expect(lines.map(\.0) == ["ADDED", "MODIFIED", "DELETED"])
            #expect(lines.allSatisfy { $0.1 == "a" })
            let revisions = Self.events(watch.json).compactMap { Int($0.value(at: ["object", "metadata", "resourceVersion"])?.stringValue ?? "") }
            #expect(revisions == revisions.sorted() && Set(revisions).count == 3)
        }
    }

    @Test func watchWithoutRevisionStartsWithCurrentState() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("x"))
            let watch = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1")
            #expect(Self.lines(watch).map(\.0) == ["ADDED"])
            let named = try await client.send(.get, "/api/v1/watch/namespaces/default/configmaps/x?timeoutSeconds=1")
            #expect(Self.lines(named).map(\.1) == ["x"])
        }
    }

    @Test func selectorTransitionsBecomeAddedAndDeleted() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("c", labels: ["app": "web"]))
            let start = try await client.send(.get, "/api/v1/namespaces/default/configmaps")
            let revision = start.json.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            _ = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/c", json: ["metadata": ["labels": ["app": "db"]]], contentType: "application/merge-patch+json")
            _ = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/c", json: ["data": ["b": "2"]], contentType: "application/merge-patch+json")
            _ = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/c", json: ["metadata": ["labels": ["app": "web"]]], contentType: "application/merge-patch+json")
            let watch = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=true&labelSelector=app%3Dweb&resourceVersion=\(revision)&timeoutSeconds=1")
            #expect(Self.lines(watch).map(\.0) == ["DELETED", "ADDED"])
        }
    }

    @Test func compactedRevisionIsGone() async throws {
        try await APIHarness.run { harness, client in
            let first = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("a"))
            let old = first.json.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("b"))
            let revision = try await harness.store.currentRevision()
            try await harness.store.compact(upTo: revision)
            let gone = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(Int(old)! - 1)")
            #expect(gone.status == 410)
            #expect(gone.json["reason"] == "Expired")
            let fresh = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(revision)&timeoutSeconds=1")
            #expect(fresh.status == 200)
        }
    }

    @Test func bookmarksCarryTheLatestRevision() async throws {
        try await APIHarness.run(bookmarkInterval: .milliseconds(100)) { _, client in
            let created = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("a"))
            let revision = created.json.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            let watch = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion=\(revision)&timeoutSeconds=2")
            let bookmarks = Self.events(watch.json).filter { $0["type"] == "BOOKMARK" }
            // Every 100 ms in 2 s would be ~20; under a loaded test run (other suites block the
            // cooperative threads with process waits) timers fire late, so at least one.
            #expect(bookmarks.count >= 1)
            #expect(bookmarks.first?.value(at: ["object", "metadata", "resourceVersion"])?.stringValue == revision)
            #expect(bookmarks.first?.value(at: ["object", "kind"]) == "ConfigMap")
            let plain = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=\(revision)&timeoutSeconds=1")
            #expect(Self.events(plain.json).filter { $0["type"] == "BOOKMARK" }.isEmpty)
        }
    }

    @Test func tableWatchesCarryRows() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("a"))
            let watch = try await client.send(.get, "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1",
                                              headers: [.accept: "application/json;as=Table;v=v1;g=meta.k8s.io"])
            let event = try #require(Self.events(watch.json).first)
            #expect(event.value(at: ["object", "kind"]) == "Table")
            #expect(event.value(at: ["object", "rows"])?.arrayValue?.first?["cells"]?.arrayValue?.first == "a")
        }
    }
}
