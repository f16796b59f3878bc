import BerthClient
import BerthCore
import Foundation

/// Issue 28's tenancy benchmarks.
///
/// `tenants`: T tenants of N namespaces each (made through `admin`); then, as the owner of one
/// tenant (`user`), R sequential `GET /api/v1/namespaces` and R SelfSubjectAccessReviews
/// (`kubectl auth can-i`): p50/p99 of each.
///
/// `quota`: C concurrent creators post P pods of 100m CPU into a namespace whose quota fits half
/// of them; afterwards the pods stored and the quota's `used` must equal the quota exactly.
/// The same creates into a namespace without a quota, in the same run, are the reference.
struct TenancyBench {
    let admin: APIClient

    func tenants(user: APIClient, tenants: Int, namespacesPerTenant: Int, owner: String, rounds: Int) async throws -> [String: JSONValue] {
        let began = monotonicNanoseconds()
        let next = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    while true {
                        let index = next.next()
                        if index >= tenants { return }
                        let names = (0..<namespacesPerTenant).map { "t\(index)-ns\($0)" }
                        let tenant: JSONValue = ["apiVersion": "berth.dev/v1", "kind": "Tenant", "metadata": ["name": .string("t\(index)")],
                                                 "spec": ["owners": [["kind": "User", "name": .string("owner-\(index)")]],
                                                          "namespaces": .array(names.map { .string($0) })]]
                        _ = try await admin.request(.POST, "/apis/berth.dev/v1/tenants", body: JSONWriter.bytes(tenant)).checked()
                        for name in names {
                            let namespace: JSONValue = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]]
                            let reply = try await admin.request(.POST, "/api/v1/namespaces", body: JSONWriter.bytes(namespace))
                            if reply.status != 201 && reply.status != 409 { _ = try reply.checked() }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let setupSeconds = Double(monotonicNanoseconds() - began) / 1e9
        // Measure the steady state: wait until the controllers have caught up with 10,000 new
        // namespaces (default ServiceAccounts, tenant labels and status), i.e. the store's
        // revision moves by fewer than 10 a second, two seconds running (at most two minutes).
        let settleBegan = monotonicNanoseconds()
        var quiet = 0
        var last: Int64 = -1
        while quiet < 2, monotonicNanoseconds() - settleBegan < 120_000_000_000 {
            try await Task.sleep(for: .seconds(1))
            let reply = try JSONParser.parse(try await admin.request(.GET, "/api/v1/namespaces?limit=1").checked().body)
            let revision = Int64(reply.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
            quiet = last >= 0 && revision - last < 10 ? quiet + 1 : 0
            last = revision
        }
        let settleSeconds = Double(monotonicNanoseconds() - settleBegan) / 1e9
        var listMs: [Double] = []
        var listed = 0
        for _ in 0..<rounds {
            let t0 = monotonicNanoseconds()
            let reply = try await user.request(.GET, "/api/v1/namespaces").checked()
            listMs.append(Double(monotonicNanoseconds() - t0) / 1e6)
            listed = try JSONParser.parse(reply.body)["items"]?.arrayValue?.count ?? 0
        }
        let review: JSONValue = ["apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                 "spec": ["resourceAttributes": ["namespace": .string(owner.replacingOccurrences(of: "owner-", with: "t") + "-ns0"),
                                                                 "verb": "create", "group": "apps", "resource": "deployments"]]]
        var canIMs: [Double] = []
        var allowed = false
        for _ in 0..<rounds {
            let t0 = monotonicNanoseconds()
            let reply = try await user.request(.POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body: JSONWriter.bytes(review)).checked()
            canIMs.append(Double(monotonicNanoseconds() - t0) / 1e6)
            allowed = try JSONParser.parse(reply.body).value(at: ["status", "allowed"]) == .bool(true)
        }
        let all = try JSONParser.parse(try await admin.request(.GET, "/api/v1/namespaces?limit=1").checked().body)
        listMs.sort()
        canIMs.sort()
        return [
            "bench": "tenancy-lookups", "tenants": .number(String(tenants)), "namespaces": .number(String(tenants * namespacesPerTenant)),
            "setup_s": .number(String(format: "%.1f", setupSeconds)), "settle_s": .number(String(format: "%.1f", settleSeconds)),
            "store_revision": all.value(at: ["metadata", "resourceVersion"]) ?? .null,
            "user_sees_namespaces": .number(String(listed)), "can_i_allowed": .bool(allowed), "rounds": .number(String(rounds)),
            "get_namespaces_p50_ms": .number(String(format: "%.2f", percentile(listMs, 0.5))),
            "get_namespaces_p99_ms": .number(String(format: "%.2f", percentile(listMs, 0.99))),
            "can_i_p50_ms": .number(String(format: "%.2f", percentile(canIMs, 0.5))),
            "can_i_p99_ms": .number(String(format: "%.2f", percentile(canIMs, 0.99))),
        ]
    }

    func quota(namespace: String, pods: Int, clients: Int) async throws -> [String: JSONValue] {
        let fitting = pods / 2
        for name in [namespace, namespace + "-free"] {
            let object: JSONValue = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]]
            let reply = try await admin.request(.POST, "/api/v1/namespaces", body: JSONWriter.bytes(object))
            if reply.status != 201 && reply.status != 409 { _ = try reply.checked() }
        }
        let quota: JSONValue = ["apiVersion": "v1", "kind": "ResourceQuota", "metadata": ["name": "cpu", "namespace": .string(namespace)],
                                "spec": ["hard": ["requests.cpu": .string("\(fitting * 100)m"), "pods": .string(String(pods))]]]
        _ = try await admin.request(.POST, "/api/v1/namespaces/\(namespace)/resourcequotas", body: JSONWriter.bytes(quota)).checked()
        for _ in 0..<200 {
            let reply = try await admin.request(.GET, "/api/v1/namespaces/\(namespace)/resourcequotas/cpu").checked()
            if try JSONParser.parse(reply.body).value(at: ["status", "used", "requests.cpu"]) != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        func createAll(in target: String) async throws -> (seconds: Double, created: Int) {
            let next = Counter(), created = Counter()
            let began = monotonicNanoseconds()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        while true {
                            let index = next.next()
                            if index >= pods { return }
                            var pod = benchPod(index, sent: 0)
                            pod.set(.array([["name": "app", "image": "berth/busybox:latest", "resources": ["requests": ["cpu": "100m"]]]]),
                                    at: ["spec", "containers"])
                            let reply = try await admin.request(.POST, "/api/v1/namespaces/\(target)/pods", body: JSONWriter.bytes(pod))
                            if reply.status == 201 { _ = created.next() } else if reply.status != 403 { _ = try reply.checked() }
                        }
                    }
                }
                try await group.waitForAll()
            }
            return (Double(monotonicNanoseconds() - began) / 1e9, created.current)
        }
        let free = try await createAll(in: namespace + "-free")
        let quoted = try await createAll(in: namespace)
        let stored = try JSONParser.parse(try await admin.request(.GET, "/api/v1/namespaces/\(namespace)/pods").checked().body)["items"]?.arrayValue?.count ?? -1
        let used = try JSONParser.parse(try await admin.request(.GET, "/api/v1/namespaces/\(namespace)/resourcequotas/cpu").checked().body)
            .value(at: ["status", "used", "requests.cpu"])?.stringValue ?? ""
        let quotedRate = Double(pods) / quoted.seconds, freeRate = Double(pods) / free.seconds
        return [
            "bench": "quota-admission", "pods_attempted": .number(String(pods)), "clients": .number(String(clients)),
            "quota_fits": .number(String(fitting)), "created": .number(String(quoted.created)), "stored": .number(String(stored)),
            "used_requests_cpu": .string(used), "never_over": .bool(quoted.created == fitting && stored == fitting),
            "requests_per_s_with_quota": .number(String(format: "%.0f", quotedRate)),
            "requests_per_s_without_quota": .number(String(format: "%.0f", freeRate)),
            "ratio_quota_over_free": .number(String(format: "%.3f", quotedRate / freeRate)),
        ]
    }
}
