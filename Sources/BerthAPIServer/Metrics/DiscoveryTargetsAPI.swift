import BerthCore
import BerthMetrics
import BerthStore
import Foundation
import Hummingbird

/// `GET /berth/v1/prometheus/targets?role=node|pod|endpoints|service`: Prometheus'
/// `http_sd_configs` format with `kubernetes_sd_configs`' labels (`DiscoveryTargets`). A
/// non-resource URL: `system:monitoring` and the `berth:prometheus` role may read it.
extension APIServer {
    static let discoveryTargetsPath = "/berth/v1/prometheus/targets"

    static var discoveryTargetsMount: Mount {
        Mount(name: "prometheus-targets", matches: Mount.prefix(discoveryTargetsPath)) { server, request, _, _ throws(BerthError) in
            guard request.method == .get else { throw BerthError(.methodNotAllowed, "only GET is served at \(discoveryTargetsPath)") }
            let role = QueryParameters(request.uri.query)["role"] ?? ""
            guard DiscoveryTargets.roles.contains(role) else {
                throw BerthError.invalid(kind: "Discovery", name: role, causes: [.notSupported("role", role, DiscoveryTargets.roles)])
            }
            func all(_ descriptor: ResourceDescriptor) async throws(BerthError) -> [JSONValue] {
                var objects: [JSONValue] = []
                for kv in try await server.storage.list(descriptor, namespace: nil, limit: 0, continueAfter: nil).kvs { objects.append(try ObjectCodec.decode(kv)) }
                return objects
            }
            let groups: [JSONValue]
            switch role {
            case "node": groups = DiscoveryTargets.nodes(try await all(.node))
            case "pod": groups = DiscoveryTargets.pods(try await all(.pod))
            case "service": groups = DiscoveryTargets.services(try await all(.service))
            default: groups = DiscoveryTargets.endpoints(try await all(.endpoints), services: try await all(.service))
            }
            return Responses.json(.array(groups))
        }
    }
}
