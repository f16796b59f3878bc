import BerthCore
import BerthIngress
import Foundation
import Testing

@Suite("ingress plan and HAProxy configuration")
struct IngressPlanTests {
    static func ingress(_ name: String, created: String = "2026-01-01T00:00:00Z", _ spec: String) throws -> Ingress {
        try JSONParser.parse(#"{"metadata":{"name":"\#(name)","namespace":"shop","creationTimestamp":"\#(created)"},"spec":\#(spec)}"#).decode(Ingress.self)
    }

    static let endpoints: EndpointLookup = { namespace, service, _ in
        switch (namespace, service) {
        case ("shop", "web"): return [.init(ip: "100.96.0.3", port: 8080), .init(ip: "100.96.1.4", port: 8080)]
        case ("shop", "api"): return [.init(ip: "100.96.0.9", port: 9000)]
        case ("shop", "empty"): return []
        default: return nil
        }
    }

    static let sample = [
        try! ingress("web", #"""
{"tls":[{"hosts":["shop.example.test"],"secretName":"shop-tls"}],"rules":[{"host":"shop.example.test","http":{"paths":[
            {"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}},
            {"path":"/api","pathType":"Prefix","backend":{"service":{"name":"api","port":{"number":80}}}},
            {"path":"/api/health","pathType":"Exact","backend":{"service":{"name":"web","port":{"number":80}}}}]}},
            {"host":"*.example.test","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"empty","port":{"number":80}}}}]}}]}
"""#),
        try! ingress("late", created: "2026-02-01T00:00:00Z", #"""
{"rules":[{"host":"shop.example.test","http":{"paths":[
            {"path":"/api","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}},
            {"path":"/missing","pathType":"Prefix","backend":{"service":{"name":"gone","port":{"number":80}}}}]}}],
            "tls":[{"hosts":["late.example.test"],"secretName":"absent"}]}
"""#),
    ]

    @Test("routes in Kubernetes' precedence; the older Ingress keeps a contested path; missing Services and Secrets are problems, not failures")
    func plan() throws {
        let plan = IngressPlanner.plan(Self.sample, endpoints: Self.endpoints, secrets: ["shop/shop-tls"])
        #expect(plan.routes.map { "\($0.host ?? "*") \($0.path) \($0.exact ? "=" : "^") \($0.backend)" } == [
            "shop.example.test /api/health = shop_web_80",
            "shop.example.test /api ^ shop_api_80",
            "shop.example.test / ^ shop_web_80",
            "*.example.test / ^ shop_empty_80",
        ])
        #expect(plan.backends.first { $0.name == "shop_web_80" }?.servers.count == 2)
        #expect(plan.certificates == [.init(secret: "shop/shop-tls", hosts: ["shop.example.test"])])
        #expect(Set(plan.problems.map(\.reason)) == ["HostPathConflict", "BackendNotFound", "TLSSecretNotFound"])
        #expect(plan.problems.allSatisfy { $0.ingress == "shop/late" })
    }

    @Test("the configuration: host and element-wise prefix ACLs, one-label wildcards, 404 without a default, TLS by SNI")
    func render() throws {
        let plan = IngressPlanner.plan(Self.sample, endpoints: Self.endpoints, secrets: ["shop/shop-tls"])
        let config = HAProxyConfig(adminSocket: "/run/berth/haproxy.sock", certificateList: "/run/berth/certs.list")
        let text = config.render(plan, tls: true)
        #expect(text.contains("use_backend shop_api_80 if { var(txn.host) -m str shop.example.test } { path -m str /api } || { var(txn.host) -m str shop.example.test } { path -m beg /api/ }"))
        #expect(text.contains("use_backend shop_web_80 if { var(txn.host) -m str shop.example.test } { path -m str /api/health }"))
        #expect(text.contains(#"use_backend shop_empty_80 if { var(txn.host) -m reg ^[^.]+\\.example\\.test$ }"#))
        #expect(text.contains("bind 0.0.0.0:443 ssl crt-list /run/berth/certs.list alpn h2,http/1.1"))
        #expect(text.contains("default_backend berth-no-route"))
        #expect(text.contains("server s1 100.96.1.4:8080"))
        let list = HAProxyConfig.certificateList(plan.certificates) { "/run/berth/certs/\($0.replacingOccurrences(of: "/", with: "_")).pem" }
        #expect(list == "/run/berth/certs/shop_shop-tls.pem shop.example.test\n")
    }

    @Test("haproxy -c accepts the configuration", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy")))
    func haproxyAccepts() throws {
        let directory = NSTemporaryDirectory() + "berth-haproxy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let plan = IngressPlanner.plan(Self.sample, endpoints: Self.endpoints, secrets: [])
        var config = HAProxyConfig(adminSocket: directory + "/admin.sock", certificateList: directory + "/certs.list")
        config.httpPort = 18080
        for text in [config.render(plan, tls: false), config.render(IngressPlan(), tls: false)] {
            try text.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
            process.arguments = ["-c", "-q", "-f", directory + "/haproxy.cfg"]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = errors
            try process.run()
            process.waitUntilExit()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "haproxy refused the configuration: \(message)\n\(text)")
        }
    }

    @Test("validation names the offending fields")
    func validation() throws {
        let bad = try Self.ingress("bad", #"""
{"rules":[{"host":"1.2.3.4","http":{"paths":[{"path":"api","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":0}}}},
            {"path":"/x","backend":{"service":{"name":"web","port":{"name":"http"}}}},{"path":"/y","pathType":"Regex","backend":{}}]}},{"host":"a.*.test"}]}
"""#)
        let fields = Ingress.validate(bad, old: nil).causes.compactMap(\.field)
        #expect(fields == ["spec.rules[0].host", "spec.rules[0].http.paths[0].path", "spec.rules[0].http.paths[0].backend.service.port.number",
                           "spec.rules[0].http.paths[1].pathType", "spec.rules[0].http.paths[2].pathType", "spec.rules[0].http.paths[2].backend",
                           "spec.rules[1].host"])
        let empty = try Self.ingress("empty", "{}")
        #expect(Ingress.validate(empty, old: nil).causes.map(\.field) == ["spec"])
    }
}
