import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Ingress on `berth up` with real containers and a real HAProxy: the default IngressClass,
/// routes by host and path over HTTP and over HTTPS chosen by SNI (HTTP/2 by ALPN), Kubernetes'
/// element-wise prefixes, 404 for no route, the node's address in the Ingress status, and an
/// Ingress naming a missing Service warned about while the other routes keep serving; the
/// `berth.dev/` annotations (rewrite, sticky cookie, source range, HTTPS redirect, rate limit).
@Suite("ingress", .serialized, .blockingAllowed)
struct IngressEndToEndTests {
    static let workloads = """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: web
                image: berth/busybox:latest
                command: [sh, -c, "mkdir -p /www && echo web > /www/index.html && exec httpd -f -p 8080 -h /www"]
                readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: api, namespace: shop}
        spec:
          replicas: 1
          selector: {matchLabels: {app: api}}
          template:
            metadata: {labels: {app: api}}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: api
                image: berth/busybox:latest
                command: [sh, -c, "mkdir -p /www/api && echo api > /www/api/index.html && exec httpd -f -p 9000 -h /www"]
                readinessProbe: {tcpSocket: {port: 9000}, periodSeconds: 1}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: web, namespace: shop}
        spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: api, namespace: shop}
        spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: 9000}]}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata: {name: shop, namespace: shop}
        spec:
          tls: [{hosts: [shop.example.test], secretName: shop-tls}]
          rules:
          - host: shop.example.test
            http:
              paths:
              - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
              - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {name: http}}}}
        """

    @Test func routesByHostAndPathOverHTTPAndHTTPS() async throws {
        let fixture = try await IngressFixture(node: "ingress-node", bridge: "bringr", podSubnet: "100.96.63.0/24", serviceCIDR: "100.67.0.0/16", namespace: "shop")
        let (server, directory) = (fixture.server, fixture.directory)
        func kubectl(_ arguments: [String], input: String? = nil) async throws -> CommandResult { try await fixture.kubectl(arguments, input: input) }
        defer { fixture.tearDown() }
        try await server.start()
        #expect(try await kubectl(["get", "ingressclass", "berth", "-o", "jsonpath={.spec.controller}"]).output == "berth.dev/ingress")

        // A certificate for the host, as a TLS Secret.
        let made = try await MonitoringFixture.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                                                       "-subj", "/CN=shop.example.test", "-addext", "subjectAltName=DNS:shop.example.test",
                                                       "-keyout", directory + "/tls.key", "-out", directory + "/tls.crt"])
        #expect(made.status == 0, "\(made.error)")
        #expect(try await kubectl(["create", "namespace", "shop"]).status == 0)
        #expect(try await kubectl(["create", "secret", "tls", "shop-tls", "-n", "shop", "--cert", directory + "/tls.crt", "--key", directory + "/tls.key"]).status == 0)
        let applied = try await kubectl(["apply", "-f", "-"], input: Self.workloads)
        #expect(applied.status == 0, "\(applied.error)")
        let rolled = try await kubectl(["rollout", "status", "deployment/web", "deployment/api", "-n", "shop", "--timeout=90s"])
        #expect(rolled.status == 0, "\(rolled.output) \(rolled.error)")

        func curl(_ path: String, host: String = "shop.example.test", tls: Bool = false, extra: [String] = []) async throws -> IngressFixture.Answer {
            try await fixture.curl(path, host: host, tls: tls, extra: extra)
        }
        let first = try await waitFor("the ingress routes /", timeout: 60) { () -> String? in
            let answer = try await curl("/")
            return answer.code.hasPrefix("200") ? answer.body : nil
        }
        #expect(first == "web")
        // The api pod's endpoint may reach the proxy a moment after the web pods' did.
        let api = try await waitFor("the ingress routes /api/", timeout: 30) { () -> String? in
            let answer = try await curl("/api/")
            return answer.code.hasPrefix("200") ? answer.body : nil
        }
        #expect(api == "api", "Prefix /api takes /api/")
        // The web pods have no /api: only the api pod's httpd redirects /api to /api/.
        #expect(try await curl("/api").code.hasPrefix("30"), "Prefix /api takes /api itself")
        let apix = try await curl("/apix")
        #expect(apix.code.hasPrefix("404") && apix.body != "api", "/apix is not under the /api prefix")
        #expect(try await curl("/", host: "other.example.test").code.hasPrefix("404"), "no route for another host")

        // HTTPS by SNI, HTTP/2 negotiated by ALPN.
        let secure = try await curl("/api/", tls: true, extra: ["--http2"])
        #expect(secure.body == "api" && secure.code == "200" && secure.version == "2", "\(secure)")

        // The node's address in the status.
        let address = try await waitFor("status.loadBalancer filled", timeout: 30) { () -> String? in
            let ip = try await kubectl(["get", "ingress", "shop", "-n", "shop", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}"]).output
            return ip.isEmpty ? nil : ip
        }
        #expect(address == "127.0.0.1")

        // `berth expose`: a hostname and path through the ingress in one command; a workload
        // that declares no port is told to give one.
        let berth = { (arguments: [String]) async throws -> CommandResult in
            try await MonitoringFixture.run(BerthServerProcess.binary, arguments + ["--kubeconfig", server.kubeconfigPath, "-n", "shop"])
        }
        let noPort = try await berth(["expose", "deploy/web"])
        #expect(noPort.status != 0 && noPort.error.contains("declares no container port"), "\(noPort.error)")
        let exposed = try await berth(["expose", "deploy/web", "--name", "web-exposed", "--target-port", "8080", "--port", "80",
                                       "--host", "expose.example.test", "--path", "/"])
        #expect(exposed.status == 0 && exposed.output.contains("http://expose.example.test/"), "\(exposed.output) \(exposed.error)")
        let throughExpose = try await waitFor("the exposed host routes", timeout: 30) { () -> String? in
            let answer = try await curl("/", host: "expose.example.test")
            return answer.code.hasPrefix("200") ? answer.body : nil
        }
        #expect(throughExpose == "web")
        let exposedService = try await kubectl(["get", "service", "web-exposed", "-n", "shop", "-o", "jsonpath={.spec.type} {.spec.selector.app} {.spec.ports[0].targetPort}"])
        #expect(exposedService.output == "ClusterIP web 8080", "\(exposedService.output)")

        // berth.dev/ annotations, one Ingress each: a rewrite with a sticky cookie, a source
        // range that leaves 127.0.0.1 out, a redirect to HTTPS, a rate limit.
        let annotated = ["rewrite": #"{berth.dev/rewrite-target: /, berth.dev/affinity: cookie}"#,
                         "private": #"{berth.dev/whitelist-source-range: 100.72.0.0/16}"#,
                         "secure": #"{berth.dev/ssl-redirect: "true"}"#, "limited": #"{berth.dev/limit-rps: "2"}"#]
        for (name, annotations) in annotated {
            let yaml = """
                apiVersion: networking.k8s.io/v1
                kind: Ingress
                metadata: {name: \(name), namespace: shop, annotations: \(annotations)}
                spec:
                  rules: [{host: \(name).example.test, http: {paths: [{path: /v1, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
                """
            let result = try await kubectl(["apply", "-f", "-"], input: yaml)
            #expect(result.status == 0, "\(result.error)")
        }
        let rewritten = try await waitFor("the rewrite route", timeout: 30) { () -> IngressFixture.Answer? in
            let answer = try await curl("/v1/", host: "rewrite.example.test", extra: ["-D", directory + "/headers"])
            return answer.code.hasPrefix("200") ? answer : nil
        }
        #expect(rewritten.body == "web", "/v1/ rewritten to /")
        #expect(try String(contentsOfFile: directory + "/headers", encoding: .utf8).lowercased().contains("set-cookie: berthroute="))
        // Each route may arrive in its own reload: wait until HAProxy no longer answers "no route".
        func routed(_ name: String, extra: [String] = []) async throws -> IngressFixture.Answer {
            try await waitFor("the \(name) route", timeout: 30) { () -> IngressFixture.Answer? in
                let answer = try await curl("/v1/", host: "\(name).example.test", extra: extra)
                return answer.body.contains("no ingress route") ? nil : answer
            }
        }
        let denied = try await routed("private")
        #expect(denied.code.hasPrefix("403"), "\(denied)")
        let redirected = try await routed("secure", extra: ["-D", directory + "/redirect"])
        #expect(redirected.code.hasPrefix("308"), "\(redirected)")
        #expect(try String(contentsOfFile: directory + "/redirect", encoding: .utf8).lowercased().contains("location: https://secure.example.test"))
        _ = try await routed("limited")
        try await Task.sleep(for: .seconds(1))
        var codes: [String] = []
        for _ in 0..<12 { codes.append(String(try await curl("/v1/", host: "limited.example.test").code.prefix(3))) }
        // Passed through: the web pods have no /v1/ (their own 404); past 2/s: 429.
        #expect(codes.contains("429") && codes.contains("404"), "a burst past 2/s: \(codes)")

        // An Ingress naming a Service that does not exist: a Warning, and the rest serves on.
        let broken = """
            apiVersion: networking.k8s.io/v1
            kind: Ingress
            metadata: {name: broken, namespace: shop}
            spec:
              rules: [{host: broken.example.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: nowhere, port: {number: 80}}}}]}}]
            """
        #expect(try await kubectl(["apply", "-f", "-"], input: broken).status == 0)
        let warning = try await waitFor("BackendNotFound event", timeout: 30) { () -> String? in
            let events = try await kubectl(["get", "events", "-n", "shop", "--field-selector", "involvedObject.name=broken", "-o", "jsonpath={.items[*].reason}"]).output
            return events.contains("BackendNotFound") ? events : nil
        }
        #expect(warning.contains("BackendNotFound"))
        #expect(try await curl("/").body == "web")
        #expect(try await curl("/", host: "broken.example.test").code.hasPrefix("404"))
        // Refused at admission: a path that is not absolute, a port of 0.
        let invalid = try await kubectl(["apply", "-f", "-"], input: broken.replacingOccurrences(of: "path: /,", with: "path: relative,"))
        #expect(invalid.status != 0 && invalid.error.contains("spec.rules[0].http.paths[0].path"), "\(invalid.error)")
    }
}
