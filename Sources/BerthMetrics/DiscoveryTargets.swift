import BerthCore

/// Prometheus targets for `http_sd_configs`, labelled exactly as `kubernetes_sd_configs`
/// labels them (`__meta_kubernetes_*`, per role), so the relabelling written for Kubernetes
/// discovery works unchanged — also with Prometheus builds that leave Kubernetes discovery out
/// (Debian's 2.42 does).
public enum DiscoveryTargets {
    public static let roles = ["node", "pod", "endpoints", "service"]

    /// One target group: `{"targets": ["HOST:PORT"], "labels": {…}}`.
    static func group(_ target: String, _ labels: [String: String]) -> JSONValue {
        ["targets": [.string(target)], "labels": .object(labels.mapValues { .string($0) })]
    }

    static func name(_ text: String) -> String { MetricName.sanitized(text, allowColon: false) }

    /// `…_label_NAME`, `…_labelpresent_NAME`, `…_annotation_NAME`, `…_annotationpresent_NAME`.
    static func metadata(_ prefix: String, _ object: JSONValue, into labels: inout [String: String]) {
        for (key, value) in object.value(at: ["metadata", "labels"])?.objectValue ?? [:] {
            labels["\(prefix)_label_\(name(key))"] = value.stringValue ?? ""
            labels["\(prefix)_labelpresent_\(name(key))"] = "true"
        }
        for (key, value) in object.value(at: ["metadata", "annotations"])?.objectValue ?? [:] {
            labels["\(prefix)_annotation_\(name(key))"] = value.stringValue ?? ""
            labels["\(prefix)_annotationpresent_\(name(key))"] = "true"
        }
    }

    static func string(_ object: JSONValue, _ path: String...) -> String { object.value(at: path)?.stringValue ?? "" }

    public static func nodes(_ nodes: [JSONValue]) -> [JSONValue] {
        nodes.compactMap { node in
            let addresses = node.value(at: ["status", "addresses"])?.arrayValue ?? []
            guard let address = addresses.first(where: { $0["type"]?.stringValue == "InternalIP" })?["address"]?.stringValue else { return nil }
            let port = node.value(at: ["status", "daemonEndpoints", "kubeletEndpoint", "Port"])?.intValue ?? 10250
            var labels = ["__meta_kubernetes_node_name": string(node, "metadata", "name"), "instance": string(node, "metadata", "name")]
            metadata("__meta_kubernetes_node", node, into: &labels)
            for entry in addresses {
                if let type = entry["type"]?.stringValue, let value = entry["address"]?.stringValue { labels["__meta_kubernetes_node_address_\(type)"] = value }
            }
            return group("\(address):\(port)", labels)
        }
    }

    public static func pods(_ pods: [JSONValue]) -> [JSONValue] {
        var groups: [JSONValue] = []
        for pod in pods {
            let ip = string(pod, "status", "podIP")
            guard !ip.isEmpty else { continue }
            var labels = [
                "__meta_kubernetes_namespace": string(pod, "metadata", "namespace"), "__meta_kubernetes_pod_name": string(pod, "metadata", "name"),
                "__meta_kubernetes_pod_ip": ip, "__meta_kubernetes_pod_node_name": string(pod, "spec", "nodeName"),
                "__meta_kubernetes_pod_host_ip": string(pod, "status", "hostIP"), "__meta_kubernetes_pod_uid": string(pod, "metadata", "uid"),
                "__meta_kubernetes_pod_phase": string(pod, "status", "phase"),
                "__meta_kubernetes_pod_ready": (pod.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue ?? "unknown").lowercased(),
            ]
            if let owner = pod.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first(where: { $0["controller"] == .bool(true) }) {
                labels["__meta_kubernetes_pod_controller_kind"] = owner["kind"]?.stringValue ?? ""
                labels["__meta_kubernetes_pod_controller_name"] = owner["name"]?.stringValue ?? ""
            }
            metadata("__meta_kubernetes_pod", pod, into: &labels)
            var any = false
            for container in pod.value(at: ["spec", "containers"])?.arrayValue ?? [] {
                var containerLabels = labels
                containerLabels["__meta_kubernetes_pod_container_name"] = container["name"]?.stringValue ?? ""
                containerLabels["__meta_kubernetes_pod_container_image"] = container["image"]?.stringValue ?? ""
                containerLabels["__meta_kubernetes_pod_container_init"] = "false"
                for port in container["ports"]?.arrayValue ?? [] {
                    guard let number = port["containerPort"]?.intValue else { continue }
                    var portLabels = containerLabels
                    portLabels["__meta_kubernetes_pod_container_port_name"] = port["name"]?.stringValue ?? ""
                    portLabels["__meta_kubernetes_pod_container_port_number"] = String(number)
                    portLabels["__meta_kubernetes_pod_container_port_protocol"] = port["protocol"]?.stringValue ?? "TCP"
                    groups.append(group("\(ip):\(number)", portLabels))
                    any = true
                }
                // Kubernetes discovery: a container without ports is one target on the pod's IP.
                if container["ports"]?.arrayValue?.isEmpty ?? true {
                    groups.append(group(ip, containerLabels))
                    any = true
                }
            }
            if !any { groups.append(group(ip, labels)) }
        }
        return groups
    }

    public static func services(_ services: [JSONValue]) -> [JSONValue] {
        var groups: [JSONValue] = []
        for service in services {
            let name = string(service, "metadata", "name"), namespace = string(service, "metadata", "namespace")
            for port in service.value(at: ["spec", "ports"])?.arrayValue ?? [] {
                guard let number = port["port"]?.intValue else { continue }
                var labels = serviceLabels(service)
                labels["__meta_kubernetes_service_port_name"] = port["name"]?.stringValue ?? ""
                labels["__meta_kubernetes_service_port_number"] = String(number)
                labels["__meta_kubernetes_service_port_protocol"] = port["protocol"]?.stringValue ?? "TCP"
                groups.append(group("\(name).\(namespace).svc:\(number)", labels))
            }
        }
        return groups
    }

    static func serviceLabels(_ service: JSONValue) -> [String: String] {
        var labels = ["__meta_kubernetes_namespace": string(service, "metadata", "namespace"), "__meta_kubernetes_service_name": string(service, "metadata", "name"),
                      "__meta_kubernetes_service_cluster_ip": string(service, "spec", "clusterIP"), "__meta_kubernetes_service_type": string(service, "spec", "type")]
        metadata("__meta_kubernetes_service", service, into: &labels)
        return labels
    }

    /// Endpoints: one target per address and port, with the Service's labels beside them.
    public static func endpoints(_ endpoints: [JSONValue], services: [JSONValue]) -> [JSONValue] {
        var byName: [String: JSONValue] = [:]
        for service in services { byName[string(service, "metadata", "namespace") + "/" + string(service, "metadata", "name")] = service }
        var groups: [JSONValue] = []
        for object in endpoints {
            let namespace = string(object, "metadata", "namespace"), name = string(object, "metadata", "name")
            var base = ["__meta_kubernetes_namespace": namespace, "__meta_kubernetes_endpoints_name": name]
            metadata("__meta_kubernetes_endpoints", object, into: &base)
            if let service = byName[namespace + "/" + name] { base.merge(serviceLabels(service)) { $1 } }
            for subset in object["subsets"]?.arrayValue ?? [] {
                let addresses = (subset["addresses"]?.arrayValue ?? []).map { ($0, "true") } + (subset["notReadyAddresses"]?.arrayValue ?? []).map { ($0, "false") }
                for (address, ready) in addresses {
                    guard let ip = address["ip"]?.stringValue else { continue }
                    for port in subset["ports"]?.arrayValue ?? [] {
                        guard let number = port["port"]?.intValue else { continue }
                        var labels = base
                        labels["__meta_kubernetes_endpoint_ready"] = ready
                        labels["__meta_kubernetes_endpoint_port_name"] = port["name"]?.stringValue ?? ""
                        labels["__meta_kubernetes_endpoint_port_protocol"] = port["protocol"]?.stringValue ?? "TCP"
                        if let kind = address.value(at: ["targetRef", "kind"])?.stringValue {
                            labels["__meta_kubernetes_endpoint_address_target_kind"] = kind
                            labels["__meta_kubernetes_endpoint_address_target_name"] = address.value(at: ["targetRef", "name"])?.stringValue ?? ""
                        }
                        if let node = address["nodeName"]?.stringValue { labels["__meta_kubernetes_endpoint_node_name"] = node }
                        groups.append(group("\(ip):\(number)", labels))
                    }
                }
            }
        }
        return groups
    }
}
