import Foundation

/// `metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics: what `kubectl top` and autoscalers
/// read. Served from the server's metrics collector, never stored; the descriptors exist so
/// requests for them are authorized and audited as resources (`pods.metrics.k8s.io`).
public struct NodeMetrics: Codable, Sendable, Hashable {
    public var apiVersion: String? = "metrics.k8s.io/v1beta1"
    public var kind: String? = "NodeMetrics"
    public var metadata: ObjectMeta
    public var timestamp: String
    public var window: String
    public var usage: [String: Quantity]
}

public struct PodMetrics: Codable, Sendable, Hashable {
    public var apiVersion: String? = "metrics.k8s.io/v1beta1"
    public var kind: String? = "PodMetrics"
    public var metadata: ObjectMeta
    public var timestamp: String
    public var window: String
    public var containers: [ContainerMetrics]
}

public struct ContainerMetrics: Codable, Sendable, Hashable {
    public var name: String
    public var usage: [String: Quantity]
}

extension NodeMetrics: APIResource {}
extension PodMetrics: APIResource {}

extension ResourceDescriptor {
    public static let nodeMetrics = ResourceDescriptor(NodeMetrics.self, group: "metrics.k8s.io", version: "v1beta1", plural: "nodes", namespaced: false,
                                                       columns: []) { object, _ in [.string(TableCells.string(object, "metadata", "name") ?? "")] }
    public static let podMetrics = ResourceDescriptor(PodMetrics.self, group: "metrics.k8s.io", version: "v1beta1", plural: "pods",
                                                      columns: []) { object, _ in [.string(TableCells.string(object, "metadata", "name") ?? "")] }
}
