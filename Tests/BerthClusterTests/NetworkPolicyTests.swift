import BerthClient
import BerthCore
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// NetworkPolicy as a truth table, in the manner of Kubernetes' own network policy e2e tests:
/// pods a, b, c in namespaces x, y, z (and a in w) spread over three hosts; for every case the
/// real TCP connects between every pair of pods on ports 80 and 81 must match the expected
/// matrix. Then tenants: two tenants with two namespaces each.
@Suite("NetworkPolicy and tenants across hosts", .serialized, .blockingAllowed)
struct NetworkPolicyTests {
    struct Target: Hashable {
        var namespace: String
        var name: String
        var key: String { "\(namespace)/\(name)" }
    }

    /// A case: its policies (YAML, any number of documents) and who may connect to whom.
    struct Case {
        var name: String
        var policies: String
        var allows: (_ from: Target, _ to: Target, _ port: Int) -> Bool
    }

    static let namespaces = ["x", "y", "z", "w"]
    static let targets: [Target] = ["x", "y", "z"].flatMap { ns in ["a", "b", "c"].map { Target(namespace: ns, name: $0) } } + [Target(namespace: "w", name: "a")]

    static func pod(_ target: Target) -> String {
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: \(target.name), namespace: "\(target.namespace)", labels: {pod: \(target.name)}}
        spec:
          terminationGracePeriodSeconds: 1
          containers:
          - name: serve
            image: berth/busybox:latest
            ports: [{name: serve-80, containerPort: 80}, {name: serve-81, containerPort: 81}]
            command: [sh, -c, "mkdir -p /www && echo ok > /www/index.html && httpd -p 80 -h /www && exec httpd -f -p 81 -h /www"]
        """
    }

    static func policy(_ namespace: String, _ name: String, _ spec: String) -> String {
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: \(name), namespace: \"\(namespace)\"}\nspec:\n" +
            spec.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }

    static func cases(addresses: [Target: String]) -> [Case] {
        let xa = Target(namespace: "x", name: "a")
        return [
            Case(name: "no policies: everything connects", policies: "") { _, _, _ in true },
            Case(name: "deny all ingress in x", policies: policy("x", "deny", "podSelector: {}\npolicyTypes: [Ingress]")) { _, to, _ in to.namespace != "x" },
            Case(name: "x/a from pod b of x only",
                 policies: policy("x", "allow-b", "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{podSelector: {matchLabels: {pod: b}}}]")) { from, to, _ in
                to != xa || from == Target(namespace: "x", name: "b")
            },
            Case(name: "x/a from namespace y only",
                 policies: policy("x", "allow-y", "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]")) { from, to, _ in
                to != xa || from.namespace == "y"
            },
            Case(name: "x/a from pod c in namespace y (both selectors in one peer)",
                 policies: policy("x", "allow-yc", "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: \"y\"}}, podSelector: {matchLabels: {pod: c}}}]")) { from, to, _ in
                to != xa || from == Target(namespace: "y", name: "c")
            },
            Case(name: "x/a from namespace y or pod c of x (two peers)",
                 policies: policy("x", "allow-y-or-c", "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}, {podSelector: {matchLabels: {pod: c}}}]")) { from, to, _ in
                to != xa || from.namespace == "y" || from == Target(namespace: "x", name: "c")
            },
            Case(name: "x/a on port 81 only",
                 policies: policy("x", "port-81", "podSelector: {matchLabels: {pod: a}}\ningress:\n- ports: [{port: 81}]")) { _, to, port in
                to != xa || port == 81
            },
            Case(name: "x/a on the named port serve-80 only",
                 policies: policy("x", "named", "podSelector: {matchLabels: {pod: a}}\ningress:\n- ports: [{port: serve-80, protocol: TCP}]")) { _, to, port in
                to != xa || port == 80
            },
            Case(name: "x/a on ports 81-90 (endPort)",
                 policies: policy("x", "range", "podSelector: {matchLabels: {pod: a}}\ningress:\n- ports: [{port: 81, endPort: 90}]")) { _, to, port in
                to != xa || port == 81
            },
            Case(name: "x/a from the pod range except y/b (ipBlock with except)",
                 policies: policy("x", "block", "podSelector: {matchLabels: {pod: a}}\ningress:\n- from: [{ipBlock: {cidr: 100.96.0.0/11, except: [\(addresses[Target(namespace: "y", name: "b")] ?? "")/32]}}]")) { from, to, _ in
                to != xa || from != Target(namespace: "y", name: "b")
            },
            Case(name: "deny all egress from x", policies: policy("x", "no-egress", "podSelector: {}\npolicyTypes: [Egress]")) { from, _, _ in from.namespace != "x" },
            Case(name: "x/a sends only to namespace z",
                 policies: policy("x", "to-z", "podSelector: {matchLabels: {pod: a}}\npolicyTypes: [Egress]\negress:\n- to: [{namespaceSelector: {matchLabels: {ns: \"z\"}}}]")) { from, to, _ in
                from != xa || to.namespace == "z"
            },
            Case(name: "deny all ingress in x, plus allow all to x/a (policies add up)",
                 policies: policy("x", "deny", "podSelector: {}\npolicyTypes: [Ingress]") + "\n---\n" + policy("x", "open-a", "podSelector: {matchLabels: {pod: a}}\ningress:\n- {}")) { _, to, _ in
                to.namespace != "x" || to == xa
            },
            Case(name: "y sends on port 80 only",
                 policies: policy("y", "egress-80", "podSelector: {}\npolicyTypes: [Egress]\negress:\n- ports: [{port: 80}]")) { from, _, port in
                from.namespace != "y" || port == 80
            },
        ]
    }

    /// Every pair (not a pod to itself) on ports 80 and 81, all at once: one curl per source
    /// pod inside its network namespace, its transfers in parallel; a dropped connect gives up
    /// after a second.
    static func probe(_ pods: [Target: Pod]) throws -> Set<String> {
        var processes: [(Target, [String: String], Process, Pipe)] = []
        for (source, pod) in pods {
            var names: [String: String] = [:]
            var arguments = ["netns", "exec", "berth-\((pod.metadata.uid ?? "").prefix(18))", "/usr/bin/curl", "--parallel", "--parallel-max", "40",
                             "-s", "--connect-timeout", "1", "-m", "3", "-w", "%{url_effective} %{http_code}\\n"]
            for (target, other) in pods where target != source {
                for port in [80, 81] {
                    let url = "http://\(other.status?.podIP ?? ""):\(port)/"
                    names[url] = "\(target.key):\(port)"
                    arguments += ["-o", "/dev/null", url]
                }
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            processes.append((source, names, process, output))
        }
        var allowed = Set<String>()
        for (source, names, process, output) in processes {
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 2, fields[1] == "200", let name = names[String(fields[0])] else { continue }
                allowed.insert("\(source.key)>\(name)")
            }
        }
        return allowed
    }

    static func expected(_ pods: [Target: Pod], _ allows: (Target, Target, Int) -> Bool) -> Set<String> {
        var result = Set<String>()
        for source in pods.keys {
            for target in pods.keys where target != source {
                for port in [80, 81] where allows(source, target, port) { result.insert("\(source.key)>\(target.key):\(port)") }
            }
        }
        return result
    }

    /// Waits until the probed matrix equals the expected one (policies reach every host within
    /// a moment); reports the difference when it never does.
    static func expectMatrix(_ name: String, _ pods: [Target: Pod], _ want: Set<String>) async throws {
        var last = Set<String>()
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            last = try probe(pods)
            if last == want { return }
            try await Task.sleep(for: .milliseconds(300))
        }
        Issue.record("\(name): unexpectedly allowed \(last.subtracting(want).sorted()), unexpectedly denied \(want.subtracting(last).sorted())")
    }

    @Test("14 policy cases as connectivity matrices; two tenants of two namespaces each")
    func truthTable() async throws {
        let cluster = try await ClusterFixture.start()
        do {
            var manifests = Self.namespaces.map { "apiVersion: v1\nkind: Namespace\nmetadata: {name: \"\($0)\", labels: {ns: \"\($0)\"}}" }
            manifests += Self.targets.map(Self.pod)
            try cluster.apply(manifests.joined(separator: "\n---\n"))
            let pods = try await waitFor("10 pods running", timeout: 90) { () -> [Target: Pod]? in
                var found: [Target: Pod] = [:]
                for namespace in Self.namespaces {
                    let reply = try await cluster.api().request(.GET, "/api/v1/namespaces/\(namespace)/pods").json()
                    for item in reply["items"]?.arrayValue ?? [] {
                        let pod = try item.decode(Pod.self)
                        if pod.status?.phase == "Running", pod.status?.podIP != nil { found[Target(namespace: namespace, name: pod.metadata.name ?? "")] = pod }
                    }
                }
                return found.count == Self.targets.count ? found : nil
            }
            #expect(Set(pods.values.compactMap { $0.spec?.nodeName }).count >= 2, "pods should span hosts")
            let addresses = pods.mapValues { $0.status?.podIP ?? "" }
            for testCase in Self.cases(addresses: addresses) {
                for namespace in Self.namespaces {
                    _ = try cluster.kubectl(["delete", "networkpolicy", "--all", "-n", namespace])
                }
                if !testCase.policies.isEmpty { try cluster.apply(testCase.policies) }
                try await Self.expectMatrix(testCase.name, pods, Self.expected(pods, testCase.allows))
                if testCase.name == "x/a from pod b of x only" {
                    // berth trace: the allowed path names the rule, the blocked one the policy.
                    let allowed = try cluster.berth(["trace", "-n", "x", "b", "a:80"])
                    #expect(allowed.status == 0 && allowed.output.contains("allowed by x/allow-b ingress rule 0") && allowed.output.contains("connected"),
                            "trace b → a: \(allowed.output) \(allowed.error)")
                    let blocked = try cluster.berth(["trace", "-n", "x", "c", "a:80"])
                    #expect(blocked.status == 1 && blocked.output.contains("DROPPED by ingress policy") && blocked.output.contains("x/allow-b")
                            && blocked.output.contains("no connection"), "trace c → a: \(blocked.output) \(blocked.error)")
                }
            }
            for namespace in Self.namespaces { _ = try cluster.kubectl(["delete", "networkpolicy", "--all", "-n", namespace]) }

            // Tenants: x and y are "red", z and w "blue"; only same-tenant traffic passes.
            for (namespace, tenant) in [("x", "red"), ("y", "red"), ("z", "blue"), ("w", "blue")] {
                let result = try cluster.kubectl(["annotate", "namespace", namespace, "\(PolicyNamespace.tenantAnnotation)=\(tenant)"])
                #expect(result.status == 0, "\(result.error)")
            }
            let tenantOf = ["x": "red", "y": "red", "z": "blue", "w": "blue"]
            try await Self.expectMatrix("tenants", pods, Self.expected(pods) { from, to, _ in tenantOf[from.namespace] == tenantOf[to.namespace] })
            let crossTenant = try cluster.berth(["trace", "-n", "x", "a", "--to-namespace", "z", "b:80"])
            #expect(crossTenant.status == 1 && crossTenant.output.contains("DROPPED by tenant isolation") && crossTenant.output.contains("tenant \"blue\""),
                    "trace x/a → z/b: \(crossTenant.output) \(crossTenant.error)")
            // With a policy on top: both must allow (intersection).
            try cluster.apply(Self.policy("x", "only-y", "podSelector: {}\ningress:\n- from: [{namespaceSelector: {matchLabels: {ns: \"y\"}}}]"))
            try await Self.expectMatrix("tenants and policy", pods, Self.expected(pods) { from, to, _ in
                tenantOf[from.namespace] == tenantOf[to.namespace] && (to.namespace != "x" || from.namespace == "y")
            })
        } catch {
            await cluster.tearDown()
            throw error
        }
        await cluster.tearDown()
    }
}
