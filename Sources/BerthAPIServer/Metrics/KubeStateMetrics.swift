import BerthCore
import BerthMetrics
import BerthStore
import Foundation

/// Object state under kube-state-metrics' names and labels (v2), written from the stored
/// objects at scrape time, so the dashboards and alert rules written for kube-state-metrics
/// work unchanged.
struct KubeStateMetrics {
    let pods: [JSONValue]
    let nodes: [JSONValue]
    let deployments: [JSONValue]
    let replicaSets: [JSONValue]
    let daemonSets: [JSONValue]
    let jobs: [JSONValue]
    let namespaces: [JSONValue]
    let quotas: [JSONValue]
    let autoscalers: [JSONValue]

    static func load(_ storage: ObjectStorage) async throws(BerthError) -> KubeStateMetrics {
        func all(_ descriptor: ResourceDescriptor) async throws(BerthError) -> [JSONValue] {
            var objects: [JSONValue] = []
            for kv in try await storage.list(descriptor, namespace: nil, limit: 0, continueAfter: nil).kvs { objects.append(try ObjectCodec.decode(kv)) }
            return objects
        }
        return KubeStateMetrics(pods: try await all(.pod), nodes: try await all(.node), deployments: try await all(.deployment),
                                replicaSets: try await all(.replicaSet), daemonSets: try await all(.daemonSet), jobs: try await all(.job),
                                namespaces: try await all(.namespace), quotas: try await all(.resourceQuota), autoscalers: try await all(.horizontalPodAutoscaler))
    }

    func render(into writer: inout ExpositionWriter) {
        renderPods(&writer)
        renderNodes(&writer)
        renderWorkloads(&writer)
        renderQuotas(&writer)
    }

    static func string(_ object: JSONValue, _ path: String...) -> String { object.value(at: path)?.stringValue ?? "" }
    static func number(_ object: JSONValue, _ path: String...) -> Double {
        guard let value = object.value(at: path) else { return 0 }
        if let int = value.intValue { return Double(int) }
        return value.stringValue.flatMap(Double.init) ?? 0
    }

    /// A quantity in its base unit (cores, bytes).
    static func quantity(_ text: String?) -> Double? {
        guard let text, let quantity = try? Quantity(parsing: text) else { return nil }
        return Double(quantity.nanos) / 1e9
    }

    static func unit(_ resource: String) -> String {
        switch resource {
        case "cpu": return "core"
        case "memory", "ephemeral-storage", "storage": return "byte"
        default: return "integer"
        }
    }

    func renderPods(_ writer: inout ExpositionWriter) {
        typealias S = KubeStateMetrics
        writer.family("kube_pod_info", .gauge, help: "Information about pod.")
        for pod in pods {
            let owner = pod.value(at: ["metadata", "ownerReferences"])?.arrayValue?.first
            writer.sample("kube_pod_info", ["namespace": S.string(pod, "metadata", "namespace"), "pod": S.string(pod, "metadata", "name"),
                                            "uid": S.string(pod, "metadata", "uid"), "host_ip": S.string(pod, "status", "hostIP"),
                                            "pod_ip": S.string(pod, "status", "podIP"), "node": S.string(pod, "spec", "nodeName"),
                                            "created_by_kind": owner?["kind"]?.stringValue ?? "<none>", "created_by_name": owner?["name"]?.stringValue ?? "<none>",
                                            "priority_class": S.string(pod, "spec", "priorityClassName")], 1)
        }
        writer.family("kube_pod_status_phase", .gauge, help: "The pods current phase.")
        for pod in pods {
            let phase = S.string(pod, "status", "phase")
            let (namespace, name, uid) = (S.string(pod, "metadata", "namespace"), S.string(pod, "metadata", "name"), S.string(pod, "metadata", "uid"))
            for candidate in ["Pending", "Succeeded", "Failed", "Unknown", "Running"] {
                writer.sample("kube_pod_status_phase", ["namespace": namespace, "pod": name, "uid": uid, "phase": candidate], phase == candidate ? 1 : 0)
            }
        }
        writer.family("kube_pod_status_ready", .gauge, help: "Describes whether the pod is ready to serve requests.")
        for pod in pods {
            let ready = pod.value(at: ["status", "conditions"])?.arrayValue?.first { $0["type"]?.stringValue == "Ready" }?["status"]?.stringValue
            let (namespace, name, uid) = (S.string(pod, "metadata", "namespace"), S.string(pod, "metadata", "name"), S.string(pod, "metadata", "uid"))
            for (condition, status) in [("true", "True"), ("false", "False"), ("unknown", "Unknown")] {
                writer.sample("kube_pod_status_ready", ["namespace": namespace, "pod": name, "uid": uid, "condition": condition], ready == status ? 1 : 0)
            }
        }
        writer.family("kube_pod_container_status_restarts_total", .counter, help: "The number of container restarts per container.")
        for pod in pods {
            for status in pod.value(at: ["status", "containerStatuses"])?.arrayValue ?? [] {
                writer.sample("kube_pod_container_status_restarts_total", ["namespace": S.string(pod, "metadata", "namespace"), "pod": S.string(pod, "metadata", "name"),
                                                                           "uid": S.string(pod, "metadata", "uid"), "container": status["name"]?.stringValue ?? ""],
                              Double(status["restartCount"]?.intValue ?? 0))
            }
        }
        writer.family("kube_pod_container_status_waiting_reason", .gauge, help: "Describes the reason the container is currently in waiting state.")
        for pod in pods {
            for status in pod.value(at: ["status", "containerStatuses"])?.arrayValue ?? [] {
                guard let reason = status.value(at: ["state", "waiting", "reason"])?.stringValue else { continue }
                writer.sample("kube_pod_container_status_waiting_reason", ["namespace": S.string(pod, "metadata", "namespace"), "pod": S.string(pod, "metadata", "name"),
                                                                           "uid": S.string(pod, "metadata", "uid"), "container": status["name"]?.stringValue ?? "",
                                                                           "reason": reason], 1)
            }
        }
        writer.family("kube_pod_container_resource_requests", .gauge, help: "The number of requested request resource by a container.")
        for pod in pods {
            for container in pod.value(at: ["spec", "containers"])?.arrayValue ?? [] {
                for (resource, value) in (container.value(at: ["resources", "requests"])?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let amount = S.quantity(value.stringValue) else { continue }
                    writer.sample("kube_pod_container_resource_requests", ["namespace": S.string(pod, "metadata", "namespace"), "pod": S.string(pod, "metadata", "name"),
                                                                           "uid": S.string(pod, "metadata", "uid"), "container": container["name"]?.stringValue ?? "",
                                                                           "node": S.string(pod, "spec", "nodeName"),
                                                                           "resource": resource, "unit": S.unit(resource)], amount)
                }
            }
        }
    }

    func renderNodes(_ writer: inout ExpositionWriter) {
        typealias S = KubeStateMetrics
        writer.family("kube_node_info", .gauge, help: "Information about a cluster node.")
        for node in nodes {
            let address = node.value(at: ["status", "addresses"])?.arrayValue?.first { $0["type"]?.stringValue == "InternalIP" }?["address"]?.stringValue ?? ""
            writer.sample("kube_node_info", ["node": S.string(node, "metadata", "name"), "kernel_version": S.string(node, "status", "nodeInfo", "kernelVersion"),
                                             "os_image": S.string(node, "status", "nodeInfo", "osImage"),
                                             "container_runtime_version": S.string(node, "status", "nodeInfo", "containerRuntimeVersion"),
                                             "kubelet_version": S.string(node, "status", "nodeInfo", "kubeletVersion"), "internal_ip": address,
                                             "pod_cidr": S.string(node, "spec", "podCIDR")], 1)
        }
        writer.family("kube_node_status_condition", .gauge, help: "The condition of a cluster node.")
        for node in nodes {
            for condition in node.value(at: ["status", "conditions"])?.arrayValue ?? [] {
                let status = condition["status"]?.stringValue ?? "Unknown"
                for (label, value) in [("true", "True"), ("false", "False"), ("unknown", "Unknown")] {
                    writer.sample("kube_node_status_condition", ["node": S.string(node, "metadata", "name"), "condition": condition["type"]?.stringValue ?? "",
                                                                 "status": label], status == value ? 1 : 0)
                }
            }
        }
        for (family, field, help) in [("kube_node_status_capacity", "capacity", "The capacity for different resources of a node."),
                                      ("kube_node_status_allocatable", "allocatable", "The allocatable for different resources of a node that are available for scheduling.")] {
            writer.family(family, .gauge, help: help)
            for node in nodes {
                for (resource, value) in (node.value(at: ["status", field])?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let amount = S.quantity(value.stringValue) else { continue }
                    writer.sample(family, ["node": S.string(node, "metadata", "name"), "resource": resource, "unit": S.unit(resource)], amount)
                }
            }
        }
        writer.family("kube_node_spec_unschedulable", .gauge, help: "Whether a node can schedule new pods.")
        for node in nodes {
            writer.sample("kube_node_spec_unschedulable", ["node": S.string(node, "metadata", "name")], node.value(at: ["spec", "unschedulable"]) == .bool(true) ? 1 : 0)
        }
        writer.family("kube_node_spec_taint", .gauge, help: "The taint of a cluster node.")
        for node in nodes {
            for taint in node.value(at: ["spec", "taints"])?.arrayValue ?? [] {
                writer.sample("kube_node_spec_taint", ["node": S.string(node, "metadata", "name"), "key": taint["key"]?.stringValue ?? "",
                                                       "value": taint["value"]?.stringValue ?? "", "effect": taint["effect"]?.stringValue ?? ""], 1)
            }
        }
    }

    func renderWorkloads(_ writer: inout ExpositionWriter) {
        typealias S = KubeStateMetrics
        func family(_ name: String, _ help: String, _ objects: [JSONValue], label: String, _ value: (JSONValue) -> Double) {
            writer.family(name, .gauge, help: help)
            for object in objects {
                writer.sample(name, ["namespace": S.string(object, "metadata", "namespace"), label: S.string(object, "metadata", "name")], value(object))
            }
        }
        family("kube_deployment_spec_replicas", "Number of desired pods for a deployment.", deployments, label: "deployment") { S.number($0, "spec", "replicas") }
        family("kube_deployment_status_replicas", "The number of replicas per deployment.", deployments, label: "deployment") { S.number($0, "status", "replicas") }
        family("kube_deployment_status_replicas_available", "The number of available replicas per deployment.", deployments, label: "deployment") { S.number($0, "status", "availableReplicas") }
        family("kube_deployment_status_replicas_unavailable", "The number of unavailable replicas per deployment.", deployments, label: "deployment") { S.number($0, "status", "unavailableReplicas") }
        family("kube_deployment_status_replicas_updated", "The number of updated replicas per deployment.", deployments, label: "deployment") { S.number($0, "status", "updatedReplicas") }
        family("kube_deployment_status_replicas_ready", "The number of ready replicas per deployment.", deployments, label: "deployment") { S.number($0, "status", "readyReplicas") }
        family("kube_deployment_metadata_generation", "Sequence number representing a specific generation of the desired state.", deployments, label: "deployment") { S.number($0, "metadata", "generation") }
        family("kube_deployment_status_observed_generation", "The generation observed by the deployment controller.", deployments, label: "deployment") { S.number($0, "status", "observedGeneration") }
        family("kube_replicaset_spec_replicas", "Number of desired pods for a ReplicaSet.", replicaSets, label: "replicaset") { S.number($0, "spec", "replicas") }
        family("kube_replicaset_status_ready_replicas", "The number of ready replicas per ReplicaSet.", replicaSets, label: "replicaset") { S.number($0, "status", "readyReplicas") }
        family("kube_daemonset_status_desired_number_scheduled", "The number of nodes that should be running the daemon pod.", daemonSets, label: "daemonset") { S.number($0, "status", "desiredNumberScheduled") }
        family("kube_daemonset_status_number_ready", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.", daemonSets, label: "daemonset") { S.number($0, "status", "numberReady") }
        family("kube_job_status_active", "The number of actively running pods.", jobs, label: "job_name") { S.number($0, "status", "active") }
        family("kube_job_status_succeeded", "The number of pods which reached Phase Succeeded.", jobs, label: "job_name") { S.number($0, "status", "succeeded") }
        family("kube_job_status_failed", "The number of pods which reached Phase Failed.", jobs, label: "job_name") { S.number($0, "status", "failed") }
        family("kube_horizontalpodautoscaler_spec_min_replicas", "Lower limit for the number of pods that can be set by the autoscaler, default 1.", autoscalers, label: "horizontalpodautoscaler") {
            $0.value(at: ["spec", "minReplicas"]) == nil ? 1 : S.number($0, "spec", "minReplicas")
        }
        family("kube_horizontalpodautoscaler_spec_max_replicas", "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.", autoscalers, label: "horizontalpodautoscaler") { S.number($0, "spec", "maxReplicas") }
        family("kube_horizontalpodautoscaler_status_current_replicas", "Current number of replicas of pods managed by this autoscaler.", autoscalers, label: "horizontalpodautoscaler") { S.number($0, "status", "currentReplicas") }
        family("kube_horizontalpodautoscaler_status_desired_replicas", "Desired number of replicas of pods managed by this autoscaler.", autoscalers, label: "horizontalpodautoscaler") { S.number($0, "status", "desiredReplicas") }
        writer.family("kube_namespace_status_phase", .gauge, help: "kubernetes namespace status phase.")
        for namespace in namespaces {
            let phase = S.string(namespace, "status", "phase")
            for candidate in ["Active", "Terminating"] {
                writer.sample("kube_namespace_status_phase", ["namespace": S.string(namespace, "metadata", "name"), "phase": candidate], phase == candidate ? 1 : 0)
            }
        }
    }

    func renderQuotas(_ writer: inout ExpositionWriter) {
        typealias S = KubeStateMetrics
        writer.family("kube_resourcequota", .gauge, help: "Information about resource quota.")
        for quota in quotas {
            for type in ["hard", "used"] {
                for (resource, value) in (quota.value(at: ["status", type])?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                    guard let amount = S.quantity(value.stringValue) else { continue }
                    writer.sample("kube_resourcequota", ["namespace": S.string(quota, "metadata", "namespace"), "resourcequota": S.string(quota, "metadata", "name"),
                                                         "resource": resource, "type": type], amount)
                }
            }
        }
    }
}
