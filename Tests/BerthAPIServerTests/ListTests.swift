import BerthCore
import BerthTestSupport
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("list, selectors, pagination, tables", .blockingAllowed)
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

    /// Later pages of a list are the snapshot its first page saw, whatever changes in between,
    /// until that revision is compacted (410 with Kubernetes' message).
    @Test func continuedListsStayOneSnapshot() async throws {
        try await APIHarness.run { harness, client in
            for index in 0..<6 {
                _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("cm-\(index)", labels: ["n": "\(index)"]))
            }
            let first = try await client.send(.get, "/api/v1/namespaces/default/configmaps?limit=2")
            let revision = try #require(first.json.value(at: ["metadata", "resourceVersion"])?.stringValue)
            let token = try #require(first.json.value(at: ["metadata", "continue"])?.stringValue)
            // Between pages: one item changes, one goes, a new one arrives.
            _ = try await client.send(.patch, "/api/v1/namespaces/default/configmaps/cm-3", body: #"{"metadata":{"labels":{"n":"changed"}}}"#,
                                      contentType: "application/merge-patch+json")
            _ = try await client.send(.delete, "/api/v1/namespaces/default/configmaps/cm-4")
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("cm-5a"))
            let second = try await client.send(.get, "/api/v1/namespaces/default/configmaps?limit=3&continue=\(token)")
            #expect(second.status == 200)
            let items = second.json["items"]?.arrayValue ?? []
            #expect(items.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } == ["cm-2", "cm-3", "cm-4"])
            #expect(items.compactMap { $0.value(at: ["metadata", "labels", "n"])?.stringValue } == ["2", "3", "4"])
            #expect(second.json.value(at: ["metadata", "resourceVersion"])?.stringValue == revision)
            let last = try #require(second.json.value(at: ["metadata", "continue"])?.stringValue)
            let third = try await client.send(.get, "/api/v1/namespaces/default/configmaps?limit=3&continue=\(last)")
            #expect(third.json["items"]?.arrayValue?.compactMap { $0.value(at: ["metadata", "name"])?.stringValue } == ["cm-5"])
            #expect(third.json.value(at: ["metadata", "continue"]) == nil)
            // Exact reads of that revision, and what may not be combined.
            let exact = try await client.send(.get, "/api/v1/namespaces/default/configmaps?resourceVersion=\(revision)&resourceVersionMatch=Exact")
            #expect(exact.json["items"]?.arrayValue?.count == 6)
            let mixed = try await client.send(.get, "/api/v1/namespaces/default/configmaps?limit=3&continue=\(last)&resourceVersion=1")
            #expect(mixed.status == 422)
            #expect(mixed.json.value(at: ["details", "causes"])?.arrayValue?.first?["field"] == "resourceVersion")
            let badMatch = try await client.send(.get, "/api/v1/namespaces/default/configmaps?resourceVersion=1&resourceVersionMatch=Soon")
            #expect(badMatch.status == 422)
            // Once the snapshot is compacted away, the token has expired.
            let now = try await harness.store.currentRevision()
            _ = try await client.send(.post, "/api/v1/namespaces/default/configmaps", json: Fixtures.configMap("cm-6"))
            try await harness.store.compact(upTo: now + 1)
            let expired = try await client.send(.get, "/api/v1/namespaces/default/configmaps?limit=3&continue=\(last)")
            #expect(expired.status == 410)
            #expect(expired.json["message"]?.stringValue?.hasPrefix("The provided continue parameter is too old") == true)
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

    @Test("EXTERNAL-IP: <pending> for a LoadBalancer without an address, its ingress once it has one, external IPs, an ExternalName")
    func serviceExternalAddresses() async throws {
        try await APIHarness.run { _, client in
            func service(_ name: String, _ spec: JSONValue) -> JSONValue {
                ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name)], "spec": spec]
            }
            let ports: JSONValue = [["port": 80]]
            for object in [service("lb", ["type": "LoadBalancer", "ports": ports]), service("plain", ["ports": ports]),
                           service("ext", ["ports": ports, "externalIPs": ["100.72.9.9"]]),
                           service("alias", ["type": "ExternalName", "externalName": "db.example.test"])] {
                #expect(try await client.send(.post, "/api/v1/namespaces/default/services", json: object).status == 201)
            }
            let accept: HTTPFields = [.accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"]
            func externalIP(_ name: String) async throws -> JSONValue? {
                try await client.send(.get, "/api/v1/namespaces/default/services/\(name)", headers: accept).json["rows"]?.arrayValue?.first?["cells"]?.arrayValue?[3]
            }
            let pending = try await externalIP("lb")
            #expect(pending == "<pending>")
            let plain = try await externalIP("plain")
            #expect(plain == "<none>")
            let external = try await externalIP("ext")
            #expect(external == "100.72.9.9")
            let alias = try await externalIP("alias")
            #expect(alias == "db.example.test")
            let status: JSONValue = ["status": ["loadBalancer": ["ingress": [["ip": "100.72.200.100"]]]]]
            #expect(try await client.send(.patch, "/api/v1/namespaces/default/services/lb/status", json: status, contentType: "application/merge-patch+json").status == 200)
            let assigned = try await externalIP("lb")
            #expect(assigned == "100.72.200.100")
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
