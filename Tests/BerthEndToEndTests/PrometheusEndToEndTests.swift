import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension MonitoringEndToEnd {
    /// A real Prometheus 2.42 set up by `berth monitoring prometheus-config` finds the server,
    /// the node and an annotated pod through `kubernetes_sd_configs` and scrapes them; the
    /// shipped rules pass promtool and an alert from them reaches a real Alertmanager; an HPA
    /// scales on an External metric answered from Prometheus by a PrometheusMetric; a
    /// malformed query is refused with the parser's message, and an unreachable Prometheus
    /// turns `ScalingActive` off without scaling.
    @Suite("Prometheus, Alertmanager and business metrics on berth up", .blockingAllowed)
    struct PrometheusEndToEndTests {
        @Test func prometheusScrapesAlertsAndDrivesAnAutoscaler() async throws {
            let prometheusPort = FreePort.next(), alertmanagerPort = FreePort.next()
            let fixture = MonitoringFixture(extraArguments: ["--prometheus-url", "http://127.0.0.1:\(prometheusPort)"])
            var helpers: [HelperProcess] = []
            defer {
                for helper in helpers { helper.stop() }
                fixture.stop()
            }
            try await fixture.start()
            let work = fixture.base.work

            // The rules and the configuration, as a user would make them, checked by promtool.
            let rules = try await fixture.berth(["monitoring", "rules", "--for", "0s"], local: true)
            #expect(rules.status == 0)
            FileManager.default.createFile(atPath: work + "/rules.yml", contents: Data(rules.output.utf8))
            let rulesCheck = try await MonitoringFixture.run("/usr/bin/promtool", ["check", "rules", work + "/rules.yml"])
            #expect(rulesCheck.status == 0, "\(rulesCheck.output)\(rulesCheck.error)")
            let config = try await fixture.berth(["monitoring", "prometheus-config", "--ca-file", work + "/ca.crt", "--rules-file", work + "/rules.yml",
                                            "--alertmanager", "127.0.0.1:\(alertmanagerPort)", "--interval", "2s"])
            #expect(config.status == 0, "\(config.output)\(config.error)")
            FileManager.default.createFile(atPath: work + "/prometheus.yml", contents: Data(config.output.utf8))
            let configCheck = try await MonitoringFixture.run("/usr/bin/promtool", ["check", "config", work + "/prometheus.yml"])
            #expect(configCheck.status == 0, "\(configCheck.output)\(configCheck.error)")
            let alertmanagerConfig = "route: {receiver: keep, group_wait: 1s, group_interval: 1s}\nreceivers: [{name: keep}]\n"
            FileManager.default.createFile(atPath: work + "/alertmanager.yml", contents: Data(alertmanagerConfig.utf8))
            helpers.append(try HelperProcess("/usr/bin/prometheus-alertmanager", [
                "--config.file=\(work)/alertmanager.yml", "--storage.path=\(work)/alertmanager", "--web.listen-address=127.0.0.1:\(alertmanagerPort)",
                "--cluster.listen-address=",
            ], log: work + "/alertmanager.log"))
            helpers.append(try HelperProcess("/usr/bin/prometheus", [
                "--config.file=\(work)/prometheus.yml", "--storage.tsdb.path=\(work)/tsdb", "--web.listen-address=127.0.0.1:\(prometheusPort)",
            ], log: work + "/prometheus.log"))

            // An app exporting a counter (50 a second), a worker to scale, a crash-looping pod.
            let apps = """
            apiVersion: v1
            kind: Pod
            metadata:
              name: queue
              namespace: default
              annotations: {prometheus.io/scrape: "true", prometheus.io/port: "8080", prometheus.io/path: /metrics}
            spec:
              terminationGracePeriodSeconds: 1
              containers:
              - name: exporter
                image: berth/busybox:latest
                command: [sh, -c, "mkdir -p /www; i=0; (while true; do i=$((i+50)); printf '# TYPE app_requests_total counter\\\\napp_requests_total %d\\\\n' $i > /www/metrics.tmp; mv /www/metrics.tmp /www/metrics; sleep 1; done) & exec httpd -f -p 8080 -h /www"]
            ---
            apiVersion: v1
            kind: Pod
            metadata: {name: crasher, namespace: default}
            spec:
              terminationGracePeriodSeconds: 1
              containers: [{name: c, image: berth/busybox:latest, command: ["false"]}]
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: worker, namespace: default}
            spec:
              replicas: 1
              selector: {matchLabels: {app: worker}}
              template:
                metadata: {labels: {app: worker}}
                spec:
                  terminationGracePeriodSeconds: 1
                  containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]
            """
            let applied = try await fixture.kubectl(["apply", "-f", "-"], input: apps)
            #expect(applied.status == 0, "\(applied.error)")

            func query(_ promql: String) async throws -> [JSONValue] {
                let encoded = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promql
                let result = try await MonitoringFixture.run("/usr/bin/curl", ["-s", "http://127.0.0.1:\(prometheusPort)/api/v1/query?query=\(encoded)"])
                return (try? JSONParser.parse(result.output))?.value(at: ["data", "result"])?.arrayValue ?? []
            }
            // Discovered and scraped: the server, the node's cAdvisor and kubelet paths, the pod.
            for job in ["berth-apiserver", "berth-kubelet", "berth-cadvisor", "berth-resource", "berth-pods"] {
                _ = try await waitFor("\(job) scraped", timeout: 120) { () -> Bool? in
                    try await query("up{job=\"\(job)\"} == 1").isEmpty ? nil : true
                }
            }
            let cpu = try await waitFor("the exporter's CPU in Prometheus", timeout: 60) { () -> [JSONValue]? in
                let series = try await query("container_cpu_usage_seconds_total{pod=\"queue\",container=\"exporter\"}")
                return series.isEmpty ? nil : series
            }
            #expect(cpu.first?.value(at: ["metric", "namespace"])?.stringValue == "default")
            #expect(try await !query("kube_pod_status_phase{pod=\"queue\",phase=\"Running\"} == 1").isEmpty)
            _ = try await waitFor("the app's own counter", timeout: 60) { try await query("app_requests_total{pod=\"queue\"}").isEmpty ? nil : true }

            // An alert from the shipped rules reaches Alertmanager.
            _ = try await waitFor("BerthPodCrashLooping in Alertmanager", timeout: 180) { () -> Bool? in
                let alerts = try await MonitoringFixture.run("/usr/bin/curl", ["-s", "http://127.0.0.1:\(alertmanagerPort)/api/v2/alerts"]).output
                return alerts.contains("BerthPodCrashLooping") && alerts.contains("crasher") ? true : nil
            }

            // A malformed query: 422 with Prometheus' parser's words, nothing stored.
            let malformed = try await fixture.kubectl(["apply", "-f", "-"], input: """
            {"apiVersion": "berth.dev/v1", "kind": "PrometheusMetric", "metadata": {"name": "broken", "namespace": "default"},
             "spec": {"query": "sum(rate(app_requests_total[30s]"}}
            """)
            #expect(malformed.status != 0)
            #expect(malformed.error.contains("spec.query") && malformed.error.contains("parse error"), "\(malformed.error)")
            #expect(try await fixture.kubectl(["get", "prometheusmetrics", "broken"]).status != 0)

            // The business metric drives the worker: 50 a second against 20 per replica → 3.
            let metric = try await fixture.kubectl(["apply", "-f", "-"], input: """
            {"apiVersion": "berth.dev/v1", "kind": "PrometheusMetric", "metadata": {"name": "queue-rate", "namespace": "default"},
             "spec": {"query": "sum(rate(app_requests_total[20s]))"}}
            """)
            #expect(metric.status == 0, "\(metric.error)")
            let value = try await waitFor("the external metric", timeout: 60) { () -> String? in
                let reply = try await fixture.curl("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-rate").json
                return reply?["items"]?.arrayValue?.first?["value"]?.stringValue
            }
            #expect(!value.isEmpty)
            let autoscaler = """
            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: {name: worker, namespace: default}
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: worker}
              minReplicas: 1
              maxReplicas: 6
              metrics:
              - type: External
                external:
                  metric: {name: queue-rate}
                  target: {type: AverageValue, averageValue: "20"}
            """
            #expect(try await fixture.kubectl(["apply", "-f", "-"], input: autoscaler).status == 0)
            _ = try await waitFor("the worker scaled to 3 on the business metric", timeout: 90) { () -> Bool? in
                try await fixture.kubectl(["get", "deployment", "worker", "-o", "jsonpath={.spec.replicas}"]).output == "3" ? true : nil
            }

            // A Pods metric: one value per pod, from the series' `pod` label.
            let perPod = try await fixture.kubectl(["apply", "-f", "-"], input: """
            {"apiVersion": "berth.dev/v1", "kind": "PrometheusMetric", "metadata": {"name": "requests-rate", "namespace": "default"},
             "spec": {"type": "Pods", "query": "rate(app_requests_total[20s])"}}
            """)
            #expect(perPod.status == 0, "\(perPod.error)")
            let podValues = try await fixture.curl("GET", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/requests-rate").json
            #expect(podValues?["items"]?.arrayValue?.first?.value(at: ["describedObject", "name"])?.stringValue == "queue", "\(String(describing: podValues))")

            // A Prometheus that does not answer: ScalingActive=False with the reason, no scaling.
            let lost = try await fixture.kubectl(["apply", "-f", "-"], input: """
            {"apiVersion": "berth.dev/v1", "kind": "PrometheusMetric", "metadata": {"name": "lost", "namespace": "default"},
             "spec": {"query": "vector(100)", "prometheus": "http://127.0.0.1:\(FreePort.next())"}}
            """)
            #expect(lost.status == 0, "\(lost.error)")
            #expect(try await fixture.kubectl(["patch", "hpa", "worker", "--type=merge", "-p",
                                         #"{"spec":{"metrics":[{"type":"External","external":{"metric":{"name":"lost"},"target":{"type":"AverageValue","averageValue":"1"}}}]}}"#]).status == 0)
            let reason = try await waitFor("ScalingActive False", timeout: 60) { () -> String? in
                let conditions = try await fixture.kubectl(["get", "hpa", "worker", "-o", #"jsonpath={.status.conditions[?(@.type=="ScalingActive")].status} {.status.conditions[?(@.type=="ScalingActive")].reason}"#]).output
                return conditions.hasPrefix("False ") ? conditions : nil
            }
            #expect(reason == "False FailedGetExternalMetric")
            try await Task.sleep(for: .seconds(5))
            #expect(try await fixture.kubectl(["get", "deployment", "worker", "-o", "jsonpath={.spec.replicas}"]).output == "3")
        }
    }
}
