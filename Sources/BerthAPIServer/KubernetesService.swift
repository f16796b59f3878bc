import BerthCore
import BerthStore

/// The `kubernetes` Service in `default`, as every Kubernetes cluster has it: the first address
/// of the service range, port 443, and Endpoints naming the address and port this server
/// listens on (kept current at every start, as kube-apiserver keeps them). Pods reach the API
/// through it (`KUBERNETES_SERVICE_HOST`/`PORT`, the in-cluster configuration); a server on a
/// loopback address is reached through the node's service rules (see `ServiceRules`).
extension APIServer {
    static let kubernetesServiceName = "kubernetes"

    func ensureKubernetesService() async throws(BerthError) {
        guard let host = configuration.advertiseAddress, let port = configuration.advertisePort,
              let (base, _) = Self.parseCIDR(configuration.serviceCIDR) else { return }
        let clusterIP = Self.formatIPv4(base &+ 1)
        let ports: JSONValue = [["name": "https", "protocol": "TCP", "port": 443, "targetPort": .number(String(port))]]
        let service: JSONValue = [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": .string(Self.kubernetesServiceName), "namespace": "default", "uid": .string(ObjectUID.make()),
                         "creationTimestamp": .string(clock.timestamp()), "labels": ["component": "apiserver", "provider": "kubernetes"]],
            "spec": ["type": "ClusterIP", "clusterIP": .string(clusterIP), "clusterIPs": [.string(clusterIP)], "ports": ports,
                     "sessionAffinity": "None", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack"],
        ]
        switch try await storage.create(.service, service, reserving: [Self.clusterIPPrefix + clusterIP: Self.reservation(service)]) {
        case .created, .guardMoved:
            break
        case .keysTaken:
            logger.warning("the first service address \(clusterIP) is held by another Service; the kubernetes Service was not created")
        case .nameTaken:
            // Kept: only the port the API listens on follows this server.
            for _ in 0..<8 {
                var stored = try await storage.get(.service, namespace: "default", name: Self.kubernetesServiceName)
                guard stored.value(at: ["spec", "ports"]) != ports else { break }
                let revision = Int64(stored.value(at: ["metadata", "resourceVersion"])?.stringValue ?? "") ?? 0
                stored.set(ports, at: ["spec", "ports"])
                do {
                    _ = try await storage.update(.service, stored, expectedRevision: revision)
                    break
                } catch where error.code == .conflict {
                    continue
                }
            }
        }
        let endpoints: JSONValue = [
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": ["name": .string(Self.kubernetesServiceName), "namespace": "default", "uid": .string(ObjectUID.make()),
                         "creationTimestamp": .string(clock.timestamp())],
            "subsets": [["addresses": [["ip": .string(host)]], "ports": [["name": "https", "port": .number(String(port)), "protocol": "TCP"]]]],
        ]
        let key = storage.key(.endpoints, namespace: "default", name: Self.kubernetesServiceName)
        if let current = try await storage.kv.get(key), let stored = try? ObjectCodec.decode(current), stored["subsets"] == endpoints["subsets"] { return }
        _ = try await storage.kv.put(key, ObjectCodec.encode(endpoints))
    }
}
