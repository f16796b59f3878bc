import BerthCore
import BerthIngress
import Foundation
import Logging

/// Writes what `GatewayPlanner` found into the status of GatewayClasses, Gateways and
/// HTTPRoutes, only where it changed (a condition that kept its status keeps its transition
/// time, so the ingress nodes agree and settle). A Gateway's addresses are the Ready ingress
/// nodes'; an HTTPRoute's parents from other controllers are kept.
struct GatewayStatusWriter {
    let api: AgentAPI
    /// The ingress nodes' addresses (`IngressProxy.addresses`).
    let addresses: [String]
    let logger: Logger

    static let base = "/apis/gateway.networking.k8s.io/v1"

    /// `namespace/name` of the Secrets the listeners of Berth's Gateways name.
    static func certificateSecrets(_ gateways: [Gateway], classes: [GatewayClass]) -> [String] {
        let ours = GatewayPlanner.berthClasses(classes)
        return gateways.filter { ours.contains($0.spec?.gatewayClassName ?? "") }.flatMap { gateway in
            (gateway.spec?.listeners ?? []).flatMap { listener in
                (listener.tls?.certificateRefs ?? []).map { "\($0.namespace ?? gateway.metadata.namespace ?? "default")/\($0.name)" }
            }
        }
    }

    func write(_ statuses: GatewayPlanner.Statuses, classes: [String: JSONValue], gateways: [String: JSONValue], routes: [String: JSONValue]) async {
        for (name, status) in statuses.classes {
            guard let current = classes["/\(name)"] else { continue }
            let previous = try? current["status"]?.decode(GatewayClassStatus.self)
            var wanted = previous ?? GatewayClassStatus()
            wanted.conditions = GatewayPlanner.settled(status.conditions ?? [], previous: previous?.conditions)
            if wanted != previous { await patch("\(Self.base)/gatewayclasses/\(name)/status", wanted) }
        }
        for (key, status) in statuses.gateways {
            guard let current = gateways[key] else { continue }
            let previous = try? current["status"]?.decode(GatewayStatus.self)
            var wanted = status
            wanted.conditions = GatewayPlanner.settled(status.conditions ?? [], previous: previous?.conditions)
            wanted.listeners = status.listeners?.map { listener in
                var settled = listener
                settled.conditions = GatewayPlanner.settled(listener.conditions, previous: previous?.listeners?.first { $0.name == listener.name }?.conditions)
                return settled
            }
            wanted.addresses = addresses.map { GatewayAddress(type: "IPAddress", value: $0) }
            if wanted != previous { await patch(path("gateways", key), wanted) }
        }
        for (key, parents) in statuses.routes {
            guard let current = routes[key] else { continue }
            let previous = try? current["status"]?.decode(HTTPRouteStatus.self)
            let others = (previous?.parents ?? []).filter { $0.controllerName != GatewayClass.berthController }
            let ours = parents.map { parent in
                var settled = parent
                settled.conditions = GatewayPlanner.settled(parent.conditions, previous: previous?.parents.first {
                    $0.controllerName == GatewayClass.berthController && $0.parentRef == parent.parentRef
                }?.conditions)
                return settled
            }
            let wanted = HTTPRouteStatus(parents: others + ours)
            if wanted != previous { await patch(path("httproutes", key), wanted) }
        }
    }

    private func path(_ plural: String, _ key: String) -> String {
        let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
        return "\(Self.base)/namespaces/\(parts.first ?? "")/\(plural)/\(parts.last ?? "")/status"
    }

    private func patch(_ path: String, _ status: some Encodable) async {
        do {
            try await api.mergePatch(path, ["status": try JSONValue(encoding: status)])
        } catch {
            logger.warning("could not write a gateway status", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
