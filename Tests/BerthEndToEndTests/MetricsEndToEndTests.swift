import BerthCore
import BerthTestSupport
import Foundation
import Testing

extension MonitoringEndToEnd {
    /// The metrics a user and Prometheus read, on `berth up` with real containers: every
    /// `/metrics` passes promtool, only a caller allowed the non-resource URL reads it,
    /// `kubectl top` (1.33) and `berth top --since` show the pods, and an HPA made by `kubectl
    /// autoscale` scales a CPU-burning Deployment up, then down once the load stops and its
    /// window passes.
    @Suite("metrics, top and the autoscaler on berth up", .blockingAllowed)
    struct MetricsEndToEndTests {
        @Test func metricsTopAndAutoscaling() async throws {
            let fixture = MonitoringFixture()
            defer { fixture.stop() }
            try await fixture.start()
            let base = fixture.base
            #expect(try await fixture.kubectl(["apply", "-f", "-"], input: MonitoringFixture.burner("burn")).status == 0)
            _ = try await waitFor("the burner running", timeout: 120) { () -> String? in
                let phase = try await fixture.kubectl(["get", "pods", "-l", "app=burn", "-o", "jsonpath={.items[*].status.phase}"]).output
                return phase == "Running" ? phase : nil
            }

            // The server's /metrics: text 0.0.4 that promtool accepts, OpenMetrics when asked.
            let metrics = try await fixture.curl("GET", "/metrics")
            #expect(metrics.code == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(try await MonitoringFixture.promtoolProblems(metrics.body) == nil)
            let text = String(decoding: metrics.body, as: UTF8.self)
            for name in ["apiserver_request_total{", "apiserver_request_duration_seconds_bucket{", "etcd_request_duration_seconds_bucket{",
                         "workqueue_adds_total{name=\"deployment\"}", "workqueue_depth{", "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"}",
                         "scheduler_pending_pods{", "leader_election_master_status{name=\"berth-controller-manager\"} 1",
                         "kube_pod_status_phase{namespace=\"default\",pod=\"burn-", "kube_deployment_status_replicas_available{namespace=\"default\",deployment=\"burn\"}",
                         "kube_node_status_condition{node=\"metrics-node\",condition=\"Ready\",status=\"true\"} 1", "process_resident_memory_bytes ",
                         "berth_certificate_expiration_timestamp_seconds{certificate=\"serving\"}", "apiserver_storage_size_bytes{storage_cluster_id=\"sqlite\"}",
                         "etcd_request_duration_seconds_count{operation=\"txn\",type=\"pods\"}", "apiserver_longrunning_requests{verb=\"WATCH\""] {
                #expect(text.contains(name), "\(name) missing from /metrics")
            }
            let openMetrics = try await fixture.curl("GET", "/metrics", headers: ["Accept: application/openmetrics-text; version=1.0.0"])
            #expect(openMetrics.headers["content-type"]?.hasPrefix("application/openmetrics-text") == true)
            #expect(String(decoding: openMetrics.body, as: UTF8.self).hasSuffix("# EOF\n"))

            // The nonResourceURLs rule decides: anonymous 401, a ServiceAccount without it 403,
            // bound to system:monitoring 200.
            #expect(try await fixture.curl("GET", "/metrics", as: .none).code == 401)
            #expect(try await fixture.kubectl(["create", "serviceaccount", "scraper"]).status == 0)
            let scraper = try await fixture.kubectl(["create", "token", "scraper"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try await fixture.curl("GET", "/metrics", as: .bearer(scraper)).code == 403)
            #expect(try await fixture.kubectl(["create", "clusterrolebinding", "scraper", "--clusterrole", "system:monitoring", "--serviceaccount", "default:scraper"]).status == 0)
            _ = try await waitFor("the scraper allowed", timeout: 30) { try await fixture.curl("GET", "/metrics", as: .bearer(scraper)).code == 200 ? true : nil }

            // The node's metrics through the node proxy, cAdvisor's names for the burner.
            for path in ["metrics", "metrics/cadvisor", "metrics/resource"] {
                let reply = try await fixture.curl("GET", "/api/v1/nodes/metrics-node/proxy/\(path)")
                #expect(reply.code == 200, "\(path)")
                #expect(try await MonitoringFixture.promtoolProblems(reply.body) == nil, "\(path)")
            }
            let cadvisor = String(decoding: try await fixture.curl("GET", "/api/v1/nodes/metrics-node/proxy/metrics/cadvisor").body, as: UTF8.self)
            #expect(cadvisor.contains("container_cpu_usage_seconds_total{container=\"c\""))
            #expect(cadvisor.contains("namespace=\"default\",pod=\"burn-"))
            #expect(cadvisor.contains("container_network_receive_bytes_total{container=\"\",interface=\"eth0\",namespace=\"default\",pod=\"burn-"))

            // kubectl top: the burner near its 100m limit, numbers at most a few seconds old.
            let top = try await waitFor("kubectl top pods", timeout: 30) { () -> String? in
                let result = try await fixture.kubectl(["top", "pods", "--containers"])
                return result.status == 0 && result.output.contains("burn-") ? result.output : nil
            }
            let cores = top.split(separator: "\n").first { $0.hasPrefix("burn-") }?.split(separator: " ", omittingEmptySubsequences: true)[2] ?? ""
            #expect((60...130).contains(Int(cores.dropLast()) ?? 0), "\(top)")
            #expect(try await fixture.kubectl(["top", "nodes"]).output.contains("metrics-node"))
            // The newest reading at most 5 s old (the collector asks every 3 s; on a loaded
            // machine one round can be late, so a few answers are looked at).
            let age = try await waitFor("a reading at most 5 s old", timeout: 20) { () -> Double? in
                let podMetrics = try await fixture.curl("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods").json
                guard let stamp = podMetrics?["items"]?.arrayValue?.first?["timestamp"]?.stringValue.flatMap({ RFC3339.parse($0) }) else { return nil }
                let window = podMetrics?["items"]?.arrayValue?.first?["window"]?.stringValue.flatMap { Double($0.dropLast()) } ?? 99
                let age = Date().timeIntervalSince(stamp) - window
                return age <= 5 ? age : nil
            }
            #expect(age <= 5, "the newest reading is at most 5 s old")

            // The autoscaler: kubectl autoscale (protobuf v2), a short scale-down window.
            #expect(try await fixture.kubectl(["autoscale", "deployment", "burn", "--cpu-percent=50", "--min=1", "--max=3"]).status == 0)
            #expect(try await fixture.kubectl(["patch", "hpa", "burn", "--type=merge", "-p", #"{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":10}}}}"#]).status == 0)
            _ = try await waitFor("scaled up to 3", timeout: 90) { () -> Bool? in
                try await fixture.kubectl(["get", "deployment", "burn", "-o", "jsonpath={.spec.replicas}"]).output == "3" ? true : nil
            }
            let hpa = try await fixture.kubectl(["get", "hpa", "burn"]).output
            #expect(hpa.contains("cpu: ") && hpa.contains("%/50%"), "\(hpa)")
            // At the bound: the three pods burn at their limit (twice the target), so the wish is 6.
            let described = try await waitFor("ScalingLimited by the maximum", timeout: 60) { () -> String? in
                let text = try await fixture.kubectl(["describe", "hpa", "burn"]).output
                return text.contains("TooManyReplicas") ? text : nil
            }
            #expect(described.contains("SuccessfulRescale"), "\(described)")
            // The same autoscaler as autoscaling/v1.
            let v1 = try await fixture.curl("GET", "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers/burn").json
            #expect(v1?["apiVersion"] == "autoscaling/v1")
            #expect(v1?.value(at: ["spec", "targetCPUUtilizationPercentage"]) == 50)
            // History for the app: `berth top deployments --since`.
            let history = try await waitFor("the deployment's history", timeout: 30) { () -> String? in
                let result = try await fixture.berth(["top", "deployments", "--since", "10m"])
                return result.output.contains("Deployment/burn") ? result.output : nil
            }
            #expect(history.contains("POINTS"))
            // Load gone: every pod stops burning; back to 1 after the 10 s window.
            _ = try await waitFor("all three pods running", timeout: 120) { () -> [String]? in
                let phases = try await fixture.kubectl(["get", "pods", "-l", "app=burn", "-o", "jsonpath={.items[*].status.phase}"]).output.split(separator: " ")
                guard phases.count == 3, phases.allSatisfy({ $0 == "Running" }) else { return nil }
                return phases.map(String.init)
            }
            for pod in try await fixture.kubectl(["get", "pods", "-l", "app=burn", "-o", "name"]).output.split(separator: "\n") {
                #expect(try await fixture.kubectl(["exec", String(pod), "--", "touch", "/tmp/stop"]).status == 0)
            }
            _ = try await waitFor("scaled back to 1", timeout: 120) { () -> Bool? in
                try await fixture.kubectl(["get", "deployment", "burn", "-o", "jsonpath={.spec.replicas}"]).output == "1" ? true : nil
            }
        }
    }
}
