/// What `berth monitoring prometheus-config` and `berth monitoring rules` print: a scrape
/// configuration that finds everything through `kubernetes_sd_configs` pointed at Berth's API
/// with a ServiceAccount token, and the alerts a platform needs, on the metric names Berth
/// exposes (kube-state-metrics', cAdvisor's, kube-apiserver's).
public enum PrometheusSetup {
    public struct Access: Sendable {
        public var apiServer: String
        public var token: String
        public var caFile: String

        public init(apiServer: String, token: String, caFile: String) {
            self.apiServer = apiServer
            self.token = token
            self.caFile = caFile
        }
    }

    /// Prometheus 2.42's configuration: the server itself (its `kubernetes` endpoints), every
    /// node's kubelet, cAdvisor and resource metrics through the API server's node proxy, and
    /// pods and service endpoints annotated `prometheus.io/scrape: "true"` (with
    /// `prometheus.io/port` and `prometheus.io/path`).
    ///
    /// Discovery is `kubernetes_sd_configs` against the API, or (`httpDiscovery`, for builds
    /// without it, such as Debian's) `http_sd_configs` against `/berth/v1/prometheus/targets`,
    /// which labels targets exactly as Kubernetes discovery does: the relabelling is the same.
    public static func scrapeConfig(_ access: Access, interval: String = "10s", rulesFile: String? = nil, alertmanager: String? = nil,
                                    httpDiscovery: Bool = true) -> String {
        let host = access.apiServer.replacingOccurrences(of: "https://", with: "")
        func discovery(_ role: String) -> String {
            if httpDiscovery {
                return """
                    http_sd_configs:
                      - url: \(quoted(access.apiServer + "/berth/v1/prometheus/targets?role=" + role))
                        refresh_interval: 5s
                        authorization: {type: Bearer, credentials: \(quoted(access.token))}
                        tls_config: {ca_file: \(quoted(access.caFile))}
                """
            }
            return """
                kubernetes_sd_configs:
                  - role: \(role)
                    api_server: \(quoted(access.apiServer))
                    authorization: {type: Bearer, credentials: \(quoted(access.token))}
                    tls_config: {ca_file: \(quoted(access.caFile))}
            """
        }
        let auth = """
                scheme: https
                authorization: {type: Bearer, credentials: \(quoted(access.token))}
                tls_config: {ca_file: \(quoted(access.caFile))}
            """
        func nodeJob(_ name: String, _ path: String) -> String {
            """
              - job_name: \(name)
            \(auth)
            \(discovery("node"))
                relabel_configs:
                  - target_label: __address__
                    replacement: \(quoted(host))
                  - source_labels: [__meta_kubernetes_node_name]
                    target_label: __metrics_path__
                    replacement: /api/v1/nodes/${1}/proxy/\(path)
                  - source_labels: [__meta_kubernetes_node_name]
                    target_label: node
            """
        }
        var text = """
        # Written by `berth monitoring prometheus-config` for \(access.apiServer).
        global:
          scrape_interval: \(interval)
          evaluation_interval: \(interval)

        """
        if let rulesFile { text += "rule_files: [\(quoted(rulesFile))]\n" }
        if let alertmanager {
            text += """
            alerting:
              alertmanagers:
                - static_configs: [{targets: [\(quoted(alertmanager))]}]

            """
        }
        text += """
        scrape_configs:
          - job_name: berth-apiserver
        \(auth)
        \(discovery("endpoints"))
            relabel_configs:
              - source_labels: [__meta_kubernetes_namespace, __meta_kubernetes_service_name, __meta_kubernetes_endpoint_port_name]
                action: keep
                regex: default;kubernetes;https
              - target_label: __address__
                replacement: \(quoted(host))
        \(nodeJob("berth-kubelet", "metrics"))
        \(nodeJob("berth-cadvisor", "metrics/cadvisor"))
        \(nodeJob("berth-resource", "metrics/resource"))
          - job_name: berth-pods
        \(discovery("pod"))
            relabel_configs:
              - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
                action: keep
                regex: "true"
              - source_labels: [__meta_kubernetes_pod_phase]
                action: keep
                regex: Running
              - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
                action: replace
                target_label: __metrics_path__
                regex: (.+)
              - source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_annotation_prometheus_io_port]
                action: replace
                regex: (.+);(\\d+)
                replacement: $1:$2
                target_label: __address__
              - source_labels: [__meta_kubernetes_namespace]
                target_label: namespace
              - source_labels: [__meta_kubernetes_pod_name]
                target_label: pod
          - job_name: berth-service-endpoints
        \(discovery("endpoints"))
            relabel_configs:
              - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_scrape]
                action: keep
                regex: "true"
              - source_labels: [__meta_kubernetes_service_annotation_prometheus_io_path]
                action: replace
                target_label: __metrics_path__
                regex: (.+)
              - source_labels: [__address__, __meta_kubernetes_service_annotation_prometheus_io_port]
                action: replace
                regex: ([^:]+)(?::\\d+)?;(\\d+)
                replacement: $1:$2
                target_label: __address__
              - source_labels: [__meta_kubernetes_namespace]
                target_label: namespace
              - source_labels: [__meta_kubernetes_service_name]
                target_label: service

        """
        return text
    }

    public struct Alert: Sendable {
        public var name: String
        public var expression: String
        public var duration: String
        public var severity: String
        public var summary: String
    }

    /// The platform's alerts.
    public static let alerts: [Alert] = [
        Alert(name: "BerthNodeNotReady", expression: #"kube_node_status_condition{condition="Ready",status="true"} == 0"#, duration: "1m", severity: "critical",
              summary: "Node {{ $labels.node }} is not ready."),
        Alert(name: "BerthPodCrashLooping", expression: #"max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1"#, duration: "1m",
              severity: "warning", summary: "Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} is crash-looping."),
        Alert(name: "BerthDeploymentReplicasMismatch", expression: "kube_deployment_spec_replicas > kube_deployment_status_replicas_available", duration: "5m",
              severity: "warning", summary: "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has fewer available replicas than it wants."),
        Alert(name: "BerthQuotaAlmostFull",
              expression: #"kube_resourcequota{type="used"} / ignoring(type) (kube_resourcequota{type="hard"} > 0) > 0.9"#, duration: "5m",
              severity: "warning", summary: "Quota {{ $labels.namespace }}/{{ $labels.resourcequota }} uses over 90 % of its {{ $labels.resource }}."),
        Alert(name: "BerthCertificateExpiresSoon", expression: "berth_certificate_expiration_timestamp_seconds - time() < 30 * 86400", duration: "1h",
              severity: "warning", summary: "The {{ $labels.certificate }} certificate expires within 30 days."),
        Alert(name: "BerthNodeDiskPressure", expression: #"kube_node_status_condition{condition="DiskPressure",status="true"} == 1"#, duration: "1m",
              severity: "warning", summary: "Node {{ $labels.node }} is short of disk space."),
        Alert(name: "BerthNodeMemoryPressure", expression: #"kube_node_status_condition{condition="MemoryPressure",status="true"} == 1"#, duration: "1m",
              severity: "warning", summary: "Node {{ $labels.node }} is short of memory."),
        Alert(name: "BerthTargetDown", expression: "up == 0", duration: "5m", severity: "warning",
              summary: "{{ $labels.job }} target {{ $labels.instance }} cannot be scraped."),
    ]

    /// The rules file; `duration` replaces every alert's `for` (tests use `0s`).
    public static func rules(duration override: String? = nil) -> String {
        var text = "# Written by `berth monitoring rules`.\ngroups:\n  - name: berth.rules\n    rules:\n"
        for alert in alerts {
            text += """
                  - alert: \(alert.name)
                    expr: \(quoted(alert.expression))
                    for: \(override ?? alert.duration)
                    labels: {severity: \(alert.severity)}
                    annotations: {summary: \(quoted(alert.summary))}

            """
        }
        return text
    }

    /// A YAML double-quoted string.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for character in text {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result + "\""
    }
}
