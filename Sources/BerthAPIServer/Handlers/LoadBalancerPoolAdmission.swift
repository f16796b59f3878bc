import BerthCore
import BerthStore

extension APIServer {
    /// A LoadBalancerPool's addresses may not lie in the cluster's pod or service ranges (their
    /// traffic is routed to pods and services, never to an announcing node) nor overlap another
    /// LoadBalancerPool (an address would have two owners).
    func checkLoadBalancerPool(_ object: JSONValue) async throws(BerthError) {
        let pool = try object.decode(LoadBalancerPool.self)
        let name = pool.metadata.name ?? ""
        guard let spec = pool.spec else { return }
        let entries = spec.addresses.enumerated().compactMap { index, text in LoadBalancerPool.parseRange(text).map { (index, text, $0) } }
        var causes: [StatusCause] = []
        for (range, what) in [(configuration.clusterCIDR, "the cluster pod CIDR"), (configuration.serviceCIDR, "the service CIDR")] {
            guard let cidr = IPv4CIDR(range) else { continue }
            for (index, text, addresses) in entries where cidr.overlaps(addresses) {
                causes.append(.invalid("spec.addresses[\(index)]", text, "overlaps \(what) \(range)"))
            }
        }
        for kv in try await storage.list(.loadBalancerPool, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let other = try ObjectCodec.decode(kv).decode(LoadBalancerPool.self)
            guard other.metadata.name != name, let theirs = other.spec?.ranges else { continue }
            for (index, text, addresses) in entries where theirs.contains(where: { $0.overlaps(addresses) }) {
                causes.append(.invalid("spec.addresses[\(index)]", text, "overlaps LoadBalancerPool \(other.metadata.name ?? "")"))
            }
        }
        if !causes.isEmpty { throw BerthError.invalid(kind: "LoadBalancerPool", name: name, causes: causes) }
    }
}
