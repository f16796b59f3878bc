import BerthCore
import BerthIngress
import BerthTestSupport
import Foundation
import Testing

@Suite("gateway plan, statuses and HAProxy configuration", .blockingAllowed)
struct GatewayPlanTests {
    static func object<T: APIResource>(_ type: T.Type, _ name: String, namespace: String? = "shop", created: String = "2026-01-01T00:00:00Z", _ spec: String) throws -> T {
        let space = namespace.map { #","namespace":"\#($0)""# } ?? ""
        var object = try JSONParser.parse(#"{"metadata":{"name":"\#(name)"\#(space),"generation":1,"creationTimestamp":"\#(created)"},"spec":\#(spec)}"#).decode(T.self)
        T.applyDefaults(&object)
        return object
    }

    static func inputs(routes: [HTTPRoute]) throws -> GatewayPlanner.Inputs {
        var inputs = GatewayPlanner.Inputs()
        inputs.classes = [try object(GatewayClass.self, "berth", namespace: nil, #"{"controllerName":"berth.dev/gateway"}"#),
                          try object(GatewayClass.self, "other", namespace: nil, #"{"controllerName":"example.com/other"}"#)]
        inputs.gateways = [
            try object(Gateway.self, "gw", #"""
{"gatewayClassName":"berth","listeners":[
  {"name":"http","port":80,"protocol":"HTTP","hostname":"*.example.test"},
  {"name":"https","port":443,"protocol":"HTTPS","tls":{"certificateRefs":[{"name":"shop-tls"}]}},
  {"name":"team","port":8080,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"Selector","selector":{"matchLabels":{"team":"a"}}}}},
  {"name":"tcp","port":9000,"protocol":"TCP"}]}
"""#),
            try object(Gateway.self, "foreign", #"{"gatewayClassName":"other","listeners":[{"name":"http","port":80,"protocol":"HTTP"}]}"#),
        ]
        inputs.routes = routes
        inputs.namespaceLabels = ["shop": [:], "other": ["team": "a"]]
        inputs.endpoints = { namespace, service, port in
            namespace == "other" ? IngressPlanTests.endpoints("shop", service, port) : IngressPlanTests.endpoints(namespace, service, port)
        }
        inputs.secrets = ["shop/shop-tls"]
        inputs.now = "2026-12-07T00:00:00Z"
        return inputs
    }

    static let routes = [
        try! object(HTTPRoute.self, "split", #"""
{"parentRefs":[{"name":"gw","sectionName":"http"}],"hostnames":["app.example.test"],
 "rules":[{"backendRefs":[{"name":"web","port":80,"weight":90},{"name":"api","port":80,"weight":10}]}]}
"""#),
        try! object(HTTPRoute.self, "cross", namespace: "other", #"{"parentRefs":[{"name":"gw","namespace":"shop","sectionName":"http"}],"rules":[{"backendRefs":[{"name":"web","port":80}]}]}"#),
        try! object(HTTPRoute.self, "team", namespace: "other", #"{"parentRefs":[{"name":"gw","namespace":"shop","port":8080}],"rules":[{"backendRefs":[{"name":"web","port":80}]}]}"#),
        try! object(HTTPRoute.self, "elsewhere", #"{"parentRefs":[{"name":"gw","sectionName":"http"}],"hostnames":["x.other.test"],"rules":[{}]}"#),
        try! object(HTTPRoute.self, "missing", created: "2026-01-02T00:00:00Z", #"""
{"parentRefs":[{"name":"gw","sectionName":"http"}],"hostnames":["*.example.test"],
 "rules":[{"matches":[{"path":{"type":"Exact","value":"/gone"},"headers":[{"name":"X-Env","value":"canary"}],"method":"GET"}],"backendRefs":[{"name":"gone","port":80}]}]}
"""#),
        try! object(HTTPRoute.self, "ignored", #"{"parentRefs":[{"name":"foreign"}],"rules":[{"backendRefs":[{"name":"web","port":80}]}]}"#),
    ]

    @Test("routes attach to the listeners that allow them; weights split a backend; every outcome is in the statuses")
    func attachAndStatus() throws {
        var plan = IngressPlan()
        let statuses = GatewayPlanner.plan(try Self.inputs(routes: Self.routes), into: &plan)
        #expect(statuses.classes.keys.sorted() == ["berth"])
        func parent(_ route: String) -> [String: String] {
            let conditions = statuses.routes[route]?.first?.conditions ?? []
            return Dictionary(uniqueKeysWithValues: conditions.map { ($0.type, "\($0.status) \($0.reason ?? "")") })
        }
        #expect(parent("shop/split") == ["Accepted": "True Accepted", "ResolvedRefs": "True ResolvedRefs"])
        #expect(parent("other/cross")["Accepted"] == "False NotAllowedByListeners")
        #expect(parent("other/team")["Accepted"] == "True Accepted", "the Selector listener takes namespaces labelled team=a")
        #expect(parent("shop/elsewhere")["Accepted"] == "False NoMatchingListenerHostname")
        #expect(parent("shop/missing") == ["Accepted": "True Accepted", "ResolvedRefs": "False BackendNotFound"])
        #expect(statuses.routes["shop/ignored"] == nil, "a Gateway of another class gets no status from Berth")

        let split = try #require(plan.backends.first { $0.name == "gw_shop_split_0" })
        #expect(split.servers.map { "\($0.ip) \($0.weight ?? 0)" } == ["100.96.0.3 256", "100.96.1.4 256", "100.96.0.9 57"],
                "90 shared by web's two endpoints, 10 by api's one")
        let routes = plan.routes.map { "\($0.host ?? "*") \($0.path) \($0.ports ?? []) \($0.backend)" }
        #expect(routes.contains("app.example.test / [80] gw_shop_split_0"))
        #expect(routes.contains("*.example.test /gone [80] \(GatewayPlanner.invalidBackend)"))
        #expect(routes.contains("* / [8080] gw_other_team_0"))
        #expect(plan.listeners == [8080: false], "80 and 443 are the ingress ports; TCP is not bound")
        #expect(plan.certificates == [.init(secret: "shop/shop-tls", hosts: [])])

        let gateway = try #require(statuses.gateways["shop/gw"])
        #expect(gateway.conditions?.first { $0.type == "Accepted" }?.reason == "ListenersNotValid")
        #expect(gateway.conditions?.first { $0.type == "Programmed" }?.status == "True")
        let listeners = Dictionary(uniqueKeysWithValues: (gateway.listeners ?? []).map { ($0.name, $0) })
        #expect(listeners["http"]?.attachedRoutes == 2 && listeners["team"]?.attachedRoutes == 1 && listeners["https"]?.attachedRoutes == 0)
        #expect(listeners["tcp"]?.conditions.first { $0.type == "Accepted" }?.reason == "UnsupportedProtocol")
        #expect(statuses.gateways["shop/foreign"] == nil)
    }

    @Test("a missing certificate or a protocol clash leaves the listener unprogrammed, and its routes unattached")
    func listenerProblems() throws {
        var inputs = try Self.inputs(routes: [])
        inputs.secrets = []
        inputs.gateways.append(try Self.object(Gateway.self, "clash", created: "2026-03-01T00:00:00Z",
                                               #"{"gatewayClassName":"berth","listeners":[{"name":"plain","port":443,"protocol":"HTTP"}]}"#))
        inputs.routes = [try Self.object(HTTPRoute.self, "secure", #"{"parentRefs":[{"name":"gw","sectionName":"https"}],"rules":[{"backendRefs":[{"name":"web","port":80}]}]}"#)]
        var plan = IngressPlan()
        let statuses = GatewayPlanner.plan(inputs, into: &plan)
        let https = statuses.gateways["shop/gw"]?.listeners?.first { $0.name == "https" }
        #expect(https?.conditions.first { $0.type == "ResolvedRefs" }?.reason == "InvalidCertificateRef")
        #expect(https?.conditions.first { $0.type == "Programmed" }?.status == "False")
        #expect(statuses.routes["shop/secure"]?.first?.conditions.first?.reason == "NoMatchingParent")
        let plain = statuses.gateways["shop/clash"]?.listeners?.first
        #expect(plain?.conditions.first { $0.type == "Conflicted" }?.reason == "ProtocolConflict")
        #expect(plan.certificates.isEmpty && plan.routes.isEmpty)
    }

    @Test("hostnames intersect: a listener's wildcard takes any depth, a route's wildcard narrows to the listener's name")
    func hostnames() {
        #expect(GatewayPlanner.hosts(listener: nil, route: []) == [nil])
        #expect(GatewayPlanner.hosts(listener: "*.example.test", route: []) == ["*.example.test"])
        #expect(GatewayPlanner.hosts(listener: "*.example.test", route: ["a.b.example.test", "example.test", "x.test"]) == ["a.b.example.test"])
        #expect(GatewayPlanner.hosts(listener: "app.example.test", route: ["*.example.test"]) == ["app.example.test"])
        #expect(GatewayPlanner.hosts(listener: "*.example.test", route: ["*.a.example.test"]) == ["*.a.example.test"])
        #expect(GatewayPlanner.hosts(listener: "*.a.example.test", route: ["*.example.test"]) == ["*.a.example.test"])
    }

    static let filtered = try! object(HTTPRoute.self, "filtered", #"""
{"parentRefs":[{"name":"gw","sectionName":"http"}],"hostnames":["app.example.test"],"rules":[
 {"matches":[{"path":{"type":"RegularExpression","value":"^/v[0-9]+/it's$"},"queryParams":[{"name":"q","value":"a b"}]}],
  "filters":[{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"X-Route","value":"100% 'gateway'"}],"remove":["X-Drop"]}},
             {"type":"ResponseHeaderModifier","responseHeaderModifier":{"add":[{"name":"X-Served-By","value":"berth"}]}},
             {"type":"URLRewrite","urlRewrite":{"hostname":"internal.test","path":{"type":"ReplaceFullPath","replaceFullPath":"/v2"}}}],
  "backendRefs":[{"name":"web","port":80}]},
 {"matches":[{"path":{"value":"/old"}}],"filters":[{"type":"RequestRedirect","requestRedirect":{"scheme":"https","hostname":"new.example.test","statusCode":301,
  "path":{"type":"ReplacePrefixMatch","replacePrefixMatch":"/new"}}}]},
 {"matches":[{"path":{"value":"/api"}}],"filters":[{"type":"URLRewrite","urlRewrite":{"path":{"type":"ReplacePrefixMatch","replacePrefixMatch":"/"}}}],
  "backendRefs":[{"name":"api","port":80}]}]}
"""#)

    @Test("matches and filters become rules keyed on the chosen route, user text quoted")
    func filters() throws {
        var plan = IngressPlan()
        _ = GatewayPlanner.plan(try Self.inputs(routes: [Self.filtered]), into: &plan)
        plan.routes.sort(by: IngressPlanner.precedes)
        let text = HAProxyConfig(adminSocket: "/a.sock", certificateList: "/c.list").render(plan, tls: false)
        let index = { (path: String) in try #require(plan.routes.firstIndex { $0.path == path }) }
        let regex = try index("^/v[0-9]+/it's$"), old = try index("/old"), api = try index("/api")
        for line in [
            #"{ var(txn.path) -m reg -- '^/v[0-9]+/it'\''s$' } { url_param(q) -m str -- 'a b' }"#,
            "http-request del-header X-Drop if { var(txn.route) -m int \(regex) }",
            #"http-request set-header X-Route '100%% '\''gateway'\''' if { var(txn.route) -m int \#(regex) }"#,
            "http-request set-header host internal.test if { var(txn.route) -m int \(regex) }",
            "http-request set-path /v2 if { var(txn.route) -m int \(regex) }",
            "http-response add-header X-Served-By berth if { var(txn.route) -m int \(regex) }",
            #"http-request replace-path '^/old(/.*)?$' '/new\1' if { var(txn.route) -m int \#(old) }"#,
            #"http-request redirect location 'https://new.example.test%[path]%[url,regsub(^[^?]*,)]' code 301 if { var(txn.route) -m int \#(old) }"#,
            #"http-request replace-path '^/api(/.*)?$' '\1' if { var(txn.route) -m int \#(api) }"#,
        ] {
            #expect(text.contains(line), "missing: \(line)")
        }
        #expect(!text.contains("use_backend \(plan.routes[old].backend) if { var(txn.route) -m int \(old) }"), "a redirect route reaches no backend")
        #expect(text.contains(#"{ var(txn.host) -m reg ^.+\\.example\\.test$ }"#) || !plan.routes.contains { $0.host?.hasPrefix("*.") == true })
    }

    @Test("haproxy -c accepts gateway routes, filters and weights", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/haproxy")))
    func haproxyAccepts() throws {
        let directory = NSTemporaryDirectory() + "berth-haproxy-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var plan = IngressPlan()
        var inputs = try Self.inputs(routes: Self.routes + [Self.filtered])
        inputs.secrets = []
        inputs.httpPort = 18080
        inputs.httpsPort = 18443
        _ = GatewayPlanner.plan(inputs, into: &plan)
        plan.routes.sort(by: IngressPlanner.precedes)
        var config = HAProxyConfig(adminSocket: directory + "/admin.sock", certificateList: directory + "/certs.list")
        config.httpPort = 18080
        plan.listeners = [18081: false]
        let text = config.render(plan, tls: false)
        try text.write(toFile: directory + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let result = try runCommand("/usr/sbin/haproxy", ["-c", "-q", "-f", directory + "/haproxy.cfg"])
        #expect(result.status == 0, "haproxy refused the configuration: \(result.output) \(result.error)\n\(text)")
    }

    @Test("validation names the offending fields; defaults fill what the CRDs default")
    func validation() throws {
        let route = try Self.object(HTTPRoute.self, "bad", #"""
{"parentRefs":[{"name":"gw","port":0}],"hostnames":["1.2.3.4"],"rules":[
 {"matches":[{"path":{"type":"RegularExpression","value":"(unclosed"},"headers":[{"name":"bad header","value":"x\ny"}],"method":"FETCH"}],
  "filters":[{"type":"RequestRedirect"},{"type":"URLRewrite","urlRewrite":{}}],"backendRefs":[{"name":"web","weight":-1}],"timeouts":{"request":"soon"}}]}
"""#)
        let fields = HTTPRoute.validate(route, old: nil).causes.compactMap(\.field)
        #expect(fields == ["spec.parentRefs[0].port", "spec.hostnames[0]", "spec.rules[0].matches[0].path.value", "spec.rules[0].matches[0].headers[0].name",
                           "spec.rules[0].matches[0].headers[0].value", "spec.rules[0].matches[0].method", "spec.rules[0].filters[0].requestRedirect",
                           "spec.rules[0].filters", "spec.rules[0].backendRefs", "spec.rules[0].backendRefs[0].port", "spec.rules[0].backendRefs[0].weight",
                           "spec.rules[0].timeouts.request"])
        let plain = try Self.object(HTTPRoute.self, "plain", #"{"parentRefs":[{"name":"gw"}],"rules":[{"backendRefs":[{"name":"web","port":80}]}]}"#)
        #expect(plain.spec?.rules?.first?.matches?.first?.path == HTTPPathMatch(type: "PathPrefix", value: "/"))
        #expect(plain.spec?.rules?.first?.backendRefs?.first?.weight == 1 && plain.spec?.parentRefs?.first?.kind == "Gateway")
        let gateway = try Self.object(Gateway.self, "bad", #"{"gatewayClassName":"berth","listeners":[{"name":"a","port":80,"protocol":"HTTPS"},{"name":"a","port":80,"protocol":"HTTP","tls":{"certificateRefs":[{"name":"x"}]}}]}"#)
        #expect(Gateway.validate(gateway, old: nil).causes.compactMap(\.field) == ["spec.listeners[0].tls", "spec.listeners[1].name", "spec.listeners[1].tls"])
        #expect(GatewayValidation.durationMilliseconds("1m30s") == 90_000 && GatewayValidation.durationMilliseconds("250ms") == 250 && GatewayValidation.durationMilliseconds("5") == nil)
    }
}
