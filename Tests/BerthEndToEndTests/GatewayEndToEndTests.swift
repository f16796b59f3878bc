import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Gateway API on `berth up` with real containers and the real HAProxy: the `berth`
/// GatewayClass, a Gateway with two listeners, HTTPRoutes splitting 90/10, matching a header,
/// setting request and response headers, redirecting; statuses as Gateway API clients read
/// them; bad routes refused or reported while the rest serves; and an upgraded (WebSocket)
/// connection plus a request loop that see no failure across 50 route changes.
@Suite("gateway", .serialized, .blockingAllowed)
struct GatewayEndToEndTests {
    static func app(_ name: String) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(name), namespace: gw}
        spec:
          replicas: 1
          selector: {matchLabels: {app: \(name)}}
          template:
            metadata: {labels: {app: \(name)}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: berth/busybox:latest
                command: [sh, -c, "mkdir -p /www/cgi-bin && echo \(name) > /www/index.html && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\nenv\\n' > /www/cgi-bin/env && chmod +x /www/cgi-bin/env && exec httpd -f -p 8080 -h /www"]
                readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: \(name), namespace: gw}
        spec: {selector: {app: \(name)}, ports: [{port: 80, targetPort: 8080}]}
        """
    }

    /// A backend that answers the WebSocket handshake with 101 and then echoes what it gets.
    /// HAProxy checks `Sec-WebSocket-Accept` against the client's key: the probe sends RFC
    /// 6455's sample key, whose answer this is.
    static let echo = #"""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: echo, namespace: gw}
        spec:
          replicas: 1
          selector: {matchLabels: {app: echo}}
          template:
            metadata: {labels: {app: echo}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: echo
                image: berth/busybox:latest
                command: [sh, -c, "printf '#!/bin/sh\nwhile read -r l; do [ ${#l} -le 1 ] && break; done\nprintf \"HTTP/1.1 101 Switching Protocols\\\\r\\\\nUpgrade: websocket\\\\r\\\\nConnection: Upgrade\\\\r\\\\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\\\\r\\\\n\\\\r\\\\n\"\nexec cat\n' > /ws.sh && chmod +x /ws.sh && exec nc -ll -p 8080 -e /ws.sh"]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: echo, namespace: gw}
        spec: {selector: {app: echo}, ports: [{port: 80, targetPort: 8080}]}
        """#

    static func gateway(http: Int, extra: Int) -> String {
        """
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: {name: web, namespace: gw}
        spec:
          gatewayClassName: berth
          listeners:
          - {name: http, port: \(http), protocol: HTTP}
          - {name: extra, port: \(extra), protocol: HTTP, hostname: extra.example.test}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: split, namespace: gw}
        spec:
          parentRefs: [{name: web, sectionName: http}]
          hostnames: [app.example.test]
          rules:
          - matches: [{headers: [{name: X-Canary, value: "yes"}]}]
            backendRefs: [{name: v2, port: 80}]
          - backendRefs: [{name: v1, port: 80, weight: 90}, {name: v2, port: 80, weight: 10}]
            filters:
            - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: X-Route, value: split}]}}
            - {type: ResponseHeaderModifier, responseHeaderModifier: {set: [{name: X-Served-By, value: berth}]}}
          - matches: [{path: {type: PathPrefix, value: /old}}]
            filters: [{type: RequestRedirect, requestRedirect: {scheme: https, hostname: new.example.test, statusCode: 301}}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: extra, namespace: gw}
        spec:
          parentRefs: [{name: web, sectionName: extra}]
          rules: [{backendRefs: [{name: v1, port: 80}]}]
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: {name: echo, namespace: gw}
        spec:
          parentRefs: [{name: web}]
          hostnames: [ws.example.test]
          rules: [{backendRefs: [{name: echo, port: 80}]}]
        """
    }

    @Test func gatewayRoutesSplitMatchFilterAndSurviveChanges() async throws {
        let fixture = try await IngressFixture(node: "gateway-node", bridge: "brgway", podSubnet: "100.96.64.0/24", serviceCIDR: "100.69.0.0/16", namespace: "gw")
        let extraPort = try await IngressFixture.freePort()
        let (server, directory, ports) = (fixture.server, fixture.directory, (http: fixture.ports.http, extra: extraPort))
        func kubectl(_ arguments: [String], input: String? = nil) async throws -> CommandResult { try await fixture.kubectl(arguments, input: input) }
        defer { fixture.tearDown() }
        try await server.start()
        #expect(try await kubectl(["get", "gatewayclass", "berth", "-o", "jsonpath={.spec.controllerName}"]).output == "berth.dev/gateway")
        #expect(try await kubectl(["create", "namespace", "gw"]).status == 0)
        let applied = try await kubectl(["apply", "-f", "-"], input: [Self.app("v1"), Self.app("v2"), Self.echo, Self.gateway(http: ports.http, extra: ports.extra)].joined(separator: "\n---\n"))
        #expect(applied.status == 0, "\(applied.error)")
        let rolled = try await kubectl(["rollout", "status", "deployment/v1", "deployment/v2", "deployment/echo", "-n", "gw", "--timeout=90s"])
        #expect(rolled.status == 0, "\(rolled.output) \(rolled.error)")

        func curl(_ path: String, host: String = "app.example.test", port: Int? = nil, extra: [String] = []) async throws -> IngressFixture.Answer {
            try await fixture.curl(path, host: host, port: port, extra: extra)
        }
        // Both backends' endpoints must be in HAProxy before the split is counted.
        _ = try await waitFor("both sides of the split answer", timeout: 60) { () -> Bool? in
            let answer = try await curl("/", extra: ["-H", "X-Canary: yes"])
            let plain = try await curl("/")
            return answer.body == "v2" && plain.code == "200" ? true : nil
        }
        var counts: [String: Int] = [:]
        for _ in 0..<200 { counts[try await curl("/").body, default: 0] += 1 }
        #expect((counts["v1"] ?? 0) + (counts["v2"] ?? 0) == 200, "\(counts)")
        #expect((8...40).contains(counts["v2"] ?? 0), "a 90/10 split over 200 requests: \(counts)")
        for _ in 0..<5 { #expect(try await curl("/", extra: ["-H", "X-Canary: yes"]).body == "v2", "the header match takes the canary") }

        let headers = directory + "/headers"
        let environment = try await curl("/cgi-bin/env", extra: ["-D", headers])
        #expect(environment.body.contains("HTTP_X_ROUTE=split"), "the backend sees the header the filter set: \(environment.body)")
        #expect(try String(contentsOfFile: headers, encoding: .utf8).lowercased().contains("x-served-by: berth"))
        let moved = try await curl("/old/page?x=1", extra: ["-D", headers])
        #expect(moved.code == "301")
        #expect(try String(contentsOfFile: headers, encoding: .utf8).lowercased().contains("location: https://new.example.test/old/page?x=1"))

        // The second listener: its own port and hostname; the first listener's routes are not on it.
        let extra = try await waitFor("the extra listener answers", timeout: 30) { () -> String? in
            let answer = try await curl("/", host: "extra.example.test", port: ports.extra)
            return answer.code == "200" ? answer.body : nil
        }
        #expect(extra == "v1")
        #expect(try await curl("/", host: "app.example.test", port: ports.extra).code == "404")

        // Statuses, as Gateway API clients read them.
        let programmed = try await waitFor("the Gateway is programmed with its address", timeout: 30) { () -> String? in
            let text = try await kubectl(["get", "gateway", "web", "-n", "gw", "-o",
                                          #"jsonpath={.status.addresses[0].value} {.status.conditions[?(@.type=="Programmed")].status} {.status.listeners[0].attachedRoutes}"#]).output
            return text.hasPrefix("127.0.0.1 True") ? text : nil
        }
        #expect(programmed == "127.0.0.1 True 2", "split and echo attach to the http listener")
        let table = try await kubectl(["get", "gateway", "-n", "gw"])
        #expect(table.output.contains("PROGRAMMED") && table.output.contains("127.0.0.1"), "\(table.output)")
        let accepted = try await kubectl(["get", "httproute", "split", "-n", "gw", "-o",
                                          #"jsonpath={.status.parents[0].conditions[?(@.type=="Accepted")].status} {.status.parents[0].controllerName}"#])
        #expect(accepted.output == "True berth.dev/gateway")

        // Request metrics in the node's /metrics, from HAProxy's runtime API.
        let metrics = try await kubectl(["get", "--raw", "/api/v1/nodes/gateway-node/proxy/metrics"])
        #expect(try await MonitoringFixture.promtoolProblems(Array(metrics.output.utf8)) == nil)
        let served = metrics.output.split(separator: "\n").first { $0.hasPrefix(#"berth_ingress_http_responses_total{backend="gw_gw_split_1",code="2xx"}"#) }
        #expect((served?.split(separator: " ").last.flatMap { Double($0) } ?? 0) >= 190, "the split rule's 2xx answers: \(served ?? "none")")
        #expect(metrics.output.contains("berth_ingress_up 1") && metrics.output.contains(#"berth_ingress_frontend_requests_total{frontend="berth-ingress"}"#))

        // The access log, where `berth logs --ingress` finds it: a line per request with host and request line.
        let accessLog = try await MonitoringFixture.run(BerthServerProcess.binary, ["logs", "--ingress", "--tail", "5", "--kubeconfig", server.kubeconfigPath])
        #expect(accessLog.status == 0 && accessLog.output.contains(#""app.example.test""#) && accessLog.output.contains(#""GET /"#), "\(accessLog.output) \(accessLog.error)")
        #expect(accessLog.output.split(separator: "\n").count == 5)
        let rawLog = try await kubectl(["get", "--raw", "/api/v1/nodes/gateway-node/proxy/logs/ingress?tailLines=2&timestamps=true"])
        #expect(rawLog.output.split(separator: "\n").allSatisfy { RFC3339.parse($0.prefix { $0 != " " }) != nil } && rawLog.output.split(separator: "\n").count == 2,
                "\(rawLog.output)")
        let badTail = try await kubectl(["get", "--raw", "/api/v1/nodes/gateway-node/proxy/logs/ingress?tailLines=-1"])
        #expect(badTail.status != 0 && badTail.error.contains("tailLines"), "\(badTail.error)")

        // Bad input: refused with the field named, or reported in the route's status while
        // every other route serves on.
        let badRegex = try await kubectl(["apply", "-f", "-"], input: """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: bad, namespace: gw}
            spec:
              parentRefs: [{name: web}]
              rules: [{matches: [{path: {type: RegularExpression, value: "(unclosed"}}], backendRefs: [{name: v1, port: 80}]}]
            """)
        #expect(badRegex.status != 0 && badRegex.error.contains("spec.rules[0].matches[0].path.value"), "\(badRegex.error)")
        #expect(try await kubectl(["apply", "-f", "-"], input: """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata: {name: missing, namespace: gw}
            spec:
              parentRefs: [{name: web}]
              hostnames: [missing.example.test]
              rules: [{backendRefs: [{name: nowhere, port: 80}]}]
            """).status == 0)
        let unresolved = try await waitFor("BackendNotFound in the route's status", timeout: 30) { () -> String? in
            let text = try await kubectl(["get", "httproute", "missing", "-n", "gw", "-o",
                                          #"jsonpath={.status.parents[0].conditions[?(@.type=="ResolvedRefs")].reason}"#]).output
            return text.isEmpty ? nil : text
        }
        #expect(unresolved == "BackendNotFound")
        #expect(try await curl("/", host: "missing.example.test").code == "500")
        #expect(try await curl("/", extra: ["-H", "X-Canary: yes"]).body == "v2")

        // 50 route changes under an upgraded connection and a request loop: nothing fails.
        let stop = directory + "/stop"
        let probe = BerthServerProcess.packageRoot.appendingPathComponent("Tests/BerthEndToEndTests/Probes/route_change_probe.py").path
        async let watched = MonitoringFixture.run("/usr/bin/python3", [probe, String(ports.http), "ws.example.test", "app.example.test", stop], timeout: 300)
        try await Task.sleep(for: .seconds(2))
        for change in 0..<50 {
            let result = try await kubectl(["apply", "-f", "-"], input: """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: churn-\(change % 5), namespace: gw}
                spec:
                  parentRefs: [{name: web, sectionName: http}]
                  hostnames: [churn-\(change % 5).example.test]
                  rules: [{matches: [{path: {value: /v\(change)}}], backendRefs: [{name: v1, port: 80}]}]
                """)
            #expect(result.status == 0, "\(result.error)")
            try await Task.sleep(for: .milliseconds(150))
        }
        _ = try await waitFor("the last change is served", timeout: 30) { () -> Bool? in
            try await curl("/v49", host: "churn-4.example.test").body.contains("no ingress route") ? nil : true
        }
        FileManager.default.createFile(atPath: stop, contents: Data())
        let report = try await watched
        print("route-change probe: \(report.output)")
        let outcome = try JSONParser.parse(Array(report.output.utf8))
        #expect(outcome["upgraded"] == .bool(true) && outcome["wsError"]?.isNull == true, "the upgraded connection lived through 50 changes: \(report.output) \(report.error)")
        #expect((outcome["echoes"]?.intValue ?? 0) > 20, "\(report.output)")
        #expect((outcome["requests"]?.intValue ?? 0) > 100 && (outcome["failures"]?.arrayValue ?? [.null]).isEmpty, "no request failed: \(report.output)")

        // New endpoints within the backend's spare slots go in through the runtime API: the
        // same HAProxy worker serves them (no reload), and every v1 pod gets requests.
        let worker = try #require(Self.currentWorker(config: server.dataDirectory + "/node/ingress/haproxy.cfg"))
        #expect(try await kubectl(["scale", "deployment/v1", "-n", "gw", "--replicas=3"]).status == 0)
        #expect(try await kubectl(["rollout", "status", "deployment/v1", "-n", "gw", "--timeout=90s"]).status == 0)
        let pods = try await waitFor("requests reach all three v1 pods", timeout: 30) { () -> Set<String>? in
            var seen = Set<String>()
            for _ in 0..<12 {
                let body = try await curl("/cgi-bin/env", host: "extra.example.test", port: ports.extra).body
                if let line = body.split(separator: "\n").first(where: { $0.hasPrefix("HOSTNAME=") }) { seen.insert(String(line)) }
            }
            return seen.count == 3 ? seen : nil
        }
        #expect(pods.count == 3)
        #expect(Self.currentWorker(config: server.dataDirectory + "/node/ingress/haproxy.cfg") == worker, "the endpoints came without a reload")
    }

    /// The newest worker of the HAProxy master running `config` (a reload starts a new one).
    static func currentWorker(config: String) -> Int32? {
        var parents: [Int32: Int32] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8),
                  command.hasPrefix("/usr/sbin/haproxy"), command.contains(config),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = Int32(fields[1]) { parents[pid] = parent }
        }
        let masters = parents.filter { parents[$0.value] == nil }.keys
        return parents.filter { masters.contains($0.value) }.keys.max()
    }
}
