import BerthCore
import BerthIngress
import BerthTestSupport
import Foundation
import Testing

@Suite("ingress plan and HAProxy configuration", .blockingAllowed)
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
        // Route numbers follow the precedence: 0 /api/health (Exact), 1 /api, 2 /, 3 the wildcard.
        let unset = "!{ var(txn.route) -m found }"
        #expect(text.contains("http-request set-var(txn.route) int(1) if \(unset) { var(txn.host) -m str shop.example.test } { var(txn.path) -m str /api } || \(unset) { var(txn.host) -m str shop.example.test } { var(txn.path) -m beg /api/ }"))
        #expect(text.contains("http-request set-var(txn.route) int(0) if \(unset) { var(txn.host) -m str shop.example.test } { var(txn.path) -m str /api/health }"))
        #expect(text.contains(#"int(3) if !{ var(txn.route) -m found } { var(txn.host) -m reg ^[^.]+\\.example\\.test$ }"#))
        #expect(text.contains("use_backend shop_api_80 if { var(txn.route) -m int 1 }"))
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
        var annotated = try Self.ingress("web", #"{"rules":[{"host":"a.test","http":{"paths":[{"path":"/api","pathType":"Prefix","backend":{"service":{"name":"api","port":{"number":80}}}}]}}]}"#)
        annotated.metadata.annotations = ["berth.dev/rewrite-target": "/v2", "berth.dev/ssl-redirect": "true", "berth.dev/whitelist-source-range": "100.72.0.0/16",
                                          "berth.dev/limit-rps": "5", "berth.dev/proxy-body-size": "8k", "berth.dev/proxy-connect-timeout": "2s", "berth.dev/affinity": "cookie"]
        let annotatedPlan = IngressPlanner.plan([annotated], endpoints: Self.endpoints, secrets: [])
        for text in [config.render(plan, tls: false), config.render(IngressPlan(), tls: false), config.render(annotatedPlan, tls: false)] {
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

    @Test("annotations: per-route rules keyed on the chosen route, per-backend timeouts and cookies, bad values reported")
    func annotations() throws {
        var ingress = try Self.ingress("web", #"{"rules":[{"host":"a.test","http":{"paths":[{"path":"/api","pathType":"Prefix","backend":{"service":{"name":"api","port":{"number":80}}}}]}}]}"#)
        ingress.metadata.annotations = [
            "berth.dev/rewrite-target": "/", "berth.dev/ssl-redirect": "true", "berth.dev/whitelist-source-range": "100.72.0.0/16, 127.0.0.1",
            "berth.dev/limit-rps": "20", "berth.dev/proxy-body-size": "1m", "berth.dev/proxy-read-timeout": "90", "berth.dev/affinity": "cookie",
        ]
        let plan = IngressPlanner.plan([ingress], endpoints: Self.endpoints, secrets: [])
        #expect(plan.problems.isEmpty, "\(plan.problems)")
        let backend = try #require(plan.backends.first)
        #expect(backend.name.hasPrefix("shop_api_80_") && backend.options.readTimeout == "90s" && backend.options.cookie == "BERTHROUTE")
        let text = HAProxyConfig(adminSocket: "/a.sock", certificateList: "/c.list").render(plan, tls: false)
        for line in [
            "http-request deny deny_status 403 if { var(txn.route) -m int 0 } !{ src 100.72.0.0/16 127.0.0.1 }",
            "http-request redirect scheme https code 308 if { var(txn.route) -m int 0 } !{ ssl_fc }",
            "http-request deny deny_status 413 if { var(txn.route) -m int 0 } { req.hdr_val(content-length) gt 1048576 }",
            "http-request track-sc0 src table berth-rate-0 if { var(txn.route) -m int 0 }",
            "http-request deny deny_status 429 if { var(txn.route) -m int 0 } { sc_http_req_rate(0,berth-rate-0) gt 20 }",
            #"http-request replace-path ^/api(/.*)?$ \1 if { var(txn.route) -m int 0 }"#,
            "timeout server 90s", "cookie BERTHROUTE insert indirect nocache httponly", "server s0 100.96.0.9:9000 cookie s0",
        ] {
            #expect(text.contains(line), "missing: \(line)")
        }
        ingress.metadata.annotations = ["berth.dev/limit-rps": "lots", "berth.dev/whitelist-source-range": "10.0.0.0/33", "berth.dev/rewrite-target": "x y"]
        let refused = IngressPlanner.plan([ingress], endpoints: Self.endpoints, secrets: [])
        #expect(refused.problems.filter { $0.reason == "InvalidAnnotation" }.count == 3)
        #expect(refused.routes.count == 1 && refused.routes[0].options == IngressAnnotations.RouteOptions(), "bad values are ignored, the route stays")
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
