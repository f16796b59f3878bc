import BerthCore

/// The Endpoints of a Service, as Kubernetes' endpoints controller computes them: the Service's
/// pods (same namespace, matching selector, an address, not terminating), ready ones under
/// `addresses` and the others under `notReadyAddresses` (or all under `addresses` with
/// `publishNotReadyAddresses`), grouped into subsets by the ports they resolve to — a named
/// `targetPort` can mean a different number on each pod.
public enum EndpointsPlanner {
    public static func subsets(_ service: Service, pods: [Pod]) -> [EndpointSubset] {
        guard let selector = service.spec?.selector, !selector.isEmpty else { return [] }
        let namespace = service.metadata.namespace
        let publishAll = service.spec?.publishNotReadyAddresses == true
        var groups: [[EndpointPort]: (ready: [EndpointAddress], notReady: [EndpointAddress])] = [:]
        var order: [[EndpointPort]] = []
        for pod in pods where pod.metadata.namespace == namespace && pod.metadata.deletionTimestamp == nil {
            guard let ip = pod.status?.podIP, !ip.isEmpty,
                  selector.allSatisfy({ pod.metadata.labels?[$0.key] == $0.value }),
                  pod.status?.phase != "Succeeded", pod.status?.phase != "Failed" else { continue }
            let ports = (service.spec?.ports ?? []).compactMap { port -> EndpointPort? in
                guard let number = targetPort(port, pod: pod) else { return nil }
                return EndpointPort(name: port.name, port: number, protocol: port.protocol ?? "TCP")
            }
            guard !ports.isEmpty || (service.spec?.ports ?? []).isEmpty else { continue }
            // A pod whose subdomain is this Service gets a name under it (`web-0.web.NS.svc`).
            let hostname = pod.spec?.subdomain == service.metadata.name ? pod.spec?.hostname : nil
            var address = EndpointAddress(ip: ip, nodeName: pod.spec?.nodeName, targetRef: ObjectReference(
                kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid))
            address.hostname = hostname
            if groups[ports] == nil { order.append(ports) }
            if publishAll || PodState.isReady(pod) { groups[ports, default: ([], [])].ready.append(address) } else { groups[ports, default: ([], [])].notReady.append(address) }
        }
        // Sorted addresses: the same pods always give the same object, so nothing is rewritten
        // for nothing.
        return order.map { ports in
            let group = groups[ports]!
            return EndpointSubset(ready: group.ready.isEmpty ? nil : group.ready.sorted { $0.ip < $1.ip },
                                  notReady: group.notReady.isEmpty ? nil : group.notReady.sorted { $0.ip < $1.ip },
                                  ports: ports.isEmpty ? nil : ports)
        }.sorted { ($0.ports?.first?.port ?? 0) < ($1.ports?.first?.port ?? 0) }
    }

    /// The container port a service port reaches on one pod: a number as is (the port itself
    /// when unset), a name looked up among the pod's container ports.
    static func targetPort(_ port: ServicePort, pod: Pod) -> Int32? {
        switch port.targetPort {
        case nil: return port.port
        case .int(let number): return Int32(number)
        case .string(let name):
            if let number = Int32(name) { return number }
            for container in pod.spec?.containers ?? [] {
                if let match = container.ports?.first(where: { $0.name == name && ($0.protocol ?? "TCP") == (port.protocol ?? "TCP") }) {
                    return match.containerPort
                }
            }
            return nil
        }
    }
}
