import BerthCore
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("list, selectors, pagination, tables")
struct ListTests {
    @Test func labelSelectors() async throws {
        try await APIHarness.run { _, client in
            for (name, labels) in [("a", ["app": "web", "env": "prod"]), ("b", ["app": "web", "env": "dev"]), ("c", ["app": "db"])] {
                _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap(name, labels: labels))
            }
            func names(_ selector: String) async throws -> [String] {
                let encoded = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? selector
                let list = try await client.send(.get, "/api/v1/namespaces/default/configmaps?labelSelector=\(encoded)")
                return list.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } ?? []
            }
            #expect(try await names("app=web") == ["a", "b"])
            #expect(try await names("app==web,env!=prod") == ["b"])
            #expect(try await names("env in (prod,dev)") == ["a", "b"])
            #expect(try await names("env notin (prod)") == ["b", "c"])
            #expect(try await names("!env") == ["c"])
            #expect(try await names("env") == ["a", "b"])
        }
    }

    @Test func fieldSelectors() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/api/v1/namespaces/default/pods", json: Fixtures.pod("on-a", node: "node-a"))
            _ = try await client.send(.post, "/api/v1/namespaces/default/pods", json: Fixtures.pod("on-b", node: "node-b"))
            _ = try await client.send(.post, "/api/v1/namespaces/kube-system/pods", json: Fixtures.pod("sys"))
            let onA = try await client.send(.get, "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a")
            #expect(onA.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } == ["on-a"])
            let pending = try await client.send(.get, "/api/v1/pods?fieldSelector=status.phase%3DPending,metadata.namespace!%3Ddefault")
            #expect(pending.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } == ["sys"])
            let byName = try await client.send(.get, "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Don-b")
            #expect(byName.json["items"]?.arrayValue?.count == 1)
        }
    }

    @Test func paginationVisitsEveryItemOnce() async throws {
        try await APIHarness.run { _, client in
            for index in 0..<23 {
                _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("cm-\(index)", labels: ["even": index % 2 == 0 ? "yes" : "no"]))
            }
            var seen: [String] = []
            var token = ""
            var pages = 0
            repeat {
                let suffix = token.isEmpty ? "" : "&continue=\(token)"
                let page = try await client.send(.get, "/api/v1/namespaces/default/configmaps?limit=5\(suffix)")
                seen += page.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } ?? []
                token = page.json.value(at: ["metadata", "continue"])?.stringValue ?? ""
                pages += 1
                #expect(page.json["items"]?.arrayValue?.count ?? 0 <= 5)
            } while !token.isEmpty && pages < 20
            #expect(pages == 5)
            #expect(seen.count == 23 && Set(seen).count == 23)
            // With a selector, pages are filled with matching items.
            let filtered = try await client.send(.get, "/api/v1/namespaces/default/configmaps?limit=4&labelSelector=even%3Dyes")
            #expect(filtered.json["items"]?.arrayValue?.count == 4)
            #expect(filtered.json.value(at: ["metadata", "continue"]) != nil)
        }
    }

    @Test func tablesCarryKubectlColumns() async throws {
        try await APIHarness.run { _, client in
            _ = try await client.send(.post, "/apis/apps/v1/namespaces/default/deployments", json: Fixtures.deployment("web"))
            let accept: HTTPFields = [.accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"]
            let table = try await client.send(.get, "/apis/apps/v1/namespaces/default/deployments", headers: accept)
            #expect(table.json["kind"] == "Table")
            let columns = table.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(Array(columns.prefix(5)) == ["Name", "Ready", "Up-to-date", "Available", "Age"])
            let row = try #require(table.json["rows"]?.arrayValue?.first)
            #expect(row["cells"]?.arrayValue?.prefix(2) == ["web", "0/2"])
            #expect(row.value(at: ["object", "kind"]) == "PartialObjectMetadata")
            #expect(row.value(at: ["object", "metadata", "name"]) == "web")
            let single = try await client.send(.get, "/api/v1/namespaces", headers: accept)
            #expect(single.json["columnDefinitions"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["Name", "Status", "Age"])
            _ = try await client.send(.post, "/api/v1/namespaces/default/pods", json: Fixtures.pod("p"))
            let pods = try await client.send(.get, "/api/v1/namespaces/default/pods/p", headers: accept)
            #expect(pods.json["rows"]?.arrayValue?.first?["cells"]?.arrayValue?.prefix(4) == ["p", "0/1", "Pending", "0"])
        }
    }

    @Test func discoveryAndOpenAPIDescribeEveryKind() async throws {
        try await APIHarness.run { _, client in
            #expect(try await client.send(.get, "/api").json["versions"] == ["v1"])
            let groups = try await client.send(.get, "/apis").json["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(groups.contains("apps") && groups.contains("coordination.k8s.io"))
            let core = try await client.send(.get, "/api/v1").json["resources"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            for name in ["pods", "pods/status", "services", "endpoints", "configmaps", "secrets", "nodes", "events", "namespaces"] {
                #expect(core.contains(name), "missing \(name)")
            }
            let apps = try await client.send(.get, "/apis/apps/v1").json["resources"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(apps.contains("deployments/scale"))
            let root = try await client.send(.get, "/openapi/v3")
            let appsURL = try #require(root.json.value(at: ["paths", "apis/apps/v1", "serverRelativeURL"])?.stringValue)
            let document = try await client.send(.get, appsURL)
            let patch = try #require(document.json.value(at: ["paths", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "patch"]))
            #expect(patch["x-kubernetes-group-version-kind"] == ["group": "apps", "version": "v1", "kind": "Deployment"])
            #expect(patch["parameters"]?.arrayValue?.contains { $0["name"] == "fieldValidation" } == true)
            #expect(try await client.send(.get, "/version").json["minor"] == "33")
        }
    }
}

import Foundation
