import BerthCore

/// The path of one connection as the cluster state says it goes, hop by hop, and the verdict of
/// tenant isolation and NetworkPolicy with the policy rule that decides it — `berth trace`
/// before it confirms with a real probe. Pure: built from API objects.
public struct PathTrace: Sendable {
    public struct Endpoint: Sendable {
        public var pod: PolicyPod
        public var node: String
        public init(pod: PolicyPod, node: String) {
            self.pod = pod
            self.node = node
        }
    }

    /// A node as the path sees it: its address, pod subnet and network mode.
    public struct Host: Sendable {
        public var name: String
        public var address: String
        public var podSubnet: String
        public var mode: String
        public init(name: String, address: String, podSubnet: String, mode: String) {
            self.name = name
            self.address = address
            self.podSubnet = podSubnet
            self.mode = mode
        }
    }

    public var hops: [String] = []
    /// Where it stops, if the rules say it does.
    public var dropped: String?

    public static let modeAnnotation = "berth.dev/network-mode"

    /// `service`: the Service's name, address and port when the destination was a Service (the
    /// DNAT to `destination` happens on the source's node).
    public init(source: Endpoint, destination: Endpoint, port: Int, proto: String = "TCP", service: (name: String, address: String, port: Int)?,
                hosts: [String: Host], compilation: PolicyCompilation, namespaces: [String: PolicyNamespace], bridge: String = "berth0") {
        let src = source.pod, dst = destination.pod
        let srcIP = IPv4Network.format(src.ip), dstIP = IPv4Network.format(dst.ip)
        let from = hosts[source.node], to = hosts[destination.node]
        hops.append("pod \(src.namespace)/\(src.name) (\(srcIP)) eth0 → bridge \(bridge) on node \(source.node)")
        if let service {
            hops.append("service \(service.name) \(service.address):\(service.port) → endpoint \(dstIP):\(port) (pod \(dst.namespace)/\(dst.name)), DNAT on node \(source.node)")
        }
        if source.node == destination.node {
            hops.append("same node: bridged on \(bridge)")
        } else if let from, let to {
            if from.mode == "vxlan" {
                hops.append("VXLAN from node \(from.name) (\(from.address)) to node \(to.name) (\(to.address)), VNI \(CrossHostPlan.vxlanID), route \(to.podSubnet) via its tunnel endpoint")
            } else {
                hops.append("route \(to.podSubnet) via \(to.address) (node \(to.name)) on node \(from.name)")
            }
        } else {
            hops.append("node \(destination.node) is not known (no Node object): the path stops here")
            dropped = "node \(destination.node) unknown"
        }
        hops.append("node \(destination.node) bridge \(bridge) → pod \(dst.namespace)/\(dst.name) (\(dstIP)) port \(proto.lowercased())/\(port)")
        guard dropped == nil else { return }

        let srcTenant = namespaces[src.namespace]?.tenant, dstTenant = namespaces[dst.namespace]?.tenant
        if (srcTenant != nil || dstTenant != nil) && srcTenant != dstTenant {
            let describe = { (namespace: String, tenant: String?) in tenant.map { "namespace \(namespace) is tenant \"\($0)\"" } ?? "namespace \(namespace) has no tenant" }
            dropped = "tenant isolation on node \(source.node): \(describe(src.namespace, srcTenant)), \(describe(dst.namespace, dstTenant))"
            hops.append("DROPPED by \(dropped!)")
            return
        }
        if srcTenant != nil { hops.append("tenant \"\(srcTenant!)\" on both sides: allowed") }
        let protoNumber = PolicyCompiler.protocolNumber(proto)
        func matching(_ boxes: [PolicyBox], pod: UInt32, peer: UInt32) -> PolicyBox? {
            boxes.first { $0.pod == pod && $0.peer.contains(peer) && $0.proto.contains(protoNumber) && $0.port.contains(UInt32(port)) }
        }
        if let policies = compilation.egressIsolated[src.ip] {
            if let box = matching(compilation.egress, pod: src.ip, peer: dst.ip) {
                hops.append("egress of \(src.namespace)/\(src.name) allowed by \(box.source)")
            } else {
                dropped = "egress policy on node \(source.node): \(src.namespace)/\(src.name) is isolated by \(policies.joined(separator: ", ")) and no rule allows \(proto.lowercased())/\(port) to \(dstIP)"
                hops.append("DROPPED by \(dropped!)")
                return
            }
        } else {
            hops.append("egress of \(src.namespace)/\(src.name): no policy selects it, allowed")
        }
        if let policies = compilation.ingressIsolated[dst.ip] {
            if let box = matching(compilation.ingress, pod: dst.ip, peer: src.ip) {
                hops.append("ingress of \(dst.namespace)/\(dst.name) allowed by \(box.source)")
            } else {
                dropped = "ingress policy on node \(destination.node): \(dst.namespace)/\(dst.name) is isolated by \(policies.joined(separator: ", ")) and no rule allows \(proto.lowercased())/\(port) from \(srcIP)"
                hops.append("DROPPED by \(dropped!)")
            }
        } else {
            hops.append("ingress of \(dst.namespace)/\(dst.name): no policy selects it, allowed")
        }
    }
}
