import BerthCore
import BerthNetwork

/// The Services and Endpoints this node knows, from its watches: the service table, the DNS
/// resolver and containers' service environment variables all read it.
final class ServiceCatalog: Sendable {
    static let services = "/api/v1/services"
    static let endpoints = "/api/v1/endpoints"
    let cache = ObjectCache()

    /// The addresses a service name stands for: its cluster IP, or for a headless service
    /// (`clusterIP: None`) the ready endpoints. Nil when there is no such service.
    func addresses(service name: String, namespace: String) -> [UInt32]? {
        let key = "\(namespace)/\(name)"
        guard let service = cache.object(Self.services, key) else { return nil }
        if let ip = service["spec"]?["clusterIP"]?.stringValue, let address = IPv4.parse(ip) { return [address] }
        let subsets = cache.object(Self.endpoints, key)?["subsets"]?.arrayValue ?? []
        let ips = subsets.flatMap { $0["addresses"]?.arrayValue ?? [] }.compactMap { $0["ip"]?.stringValue.flatMap(IPv4.parse) }
        return Array(Set(ips)).sorted()
    }

    /// The address of the endpoint with this hostname (ready addresses, or not-ready ones too
    /// when the Service publishes them); nil when there is none.
    func address(hostname: String, service name: String, namespace: String) -> UInt32? {
        let key = "\(namespace)/\(name)"
        let publishAll = cache.object(Self.services, key)?["spec"]?["publishNotReadyAddresses"] == .bool(true)
        for subset in cache.object(Self.endpoints, key)?["subsets"]?.arrayValue ?? [] {
            let addresses = (subset["addresses"]?.arrayValue ?? []) + (publishAll ? subset["notReadyAddresses"]?.arrayValue ?? [] : [])
            if let match = addresses.first(where: { $0["hostname"]?.stringValue == hostname }) { return match["ip"]?.stringValue.flatMap(IPv4.parse) }
        }
        return nil
    }

    /// Reverse lookup: a cluster IP names its Service (`web.default.svc.cluster.local`), an
    /// endpoint address its pod (`100-96-1-5.default.pod.cluster.local`, as CoreDNS names pods);
    /// nil when no Service or endpoint has the address.
    func names(of address: UInt32) -> [String]? {
        let text = IPv4Network.format(address)
        var names: [String] = []
        for (key, service) in cache.objects(Self.services) where service["spec"]?["clusterIP"]?.stringValue == text {
            let parts = key.split(separator: "/", maxSplits: 1)
            if parts.count == 2 { names.append("\(parts[1]).\(parts[0]).svc.\(ClusterName.domain)") }
        }
        if names.isEmpty {
            for (key, endpoints) in cache.objects(Self.endpoints) {
                let addresses = (endpoints["subsets"]?.arrayValue ?? []).flatMap { ($0["addresses"]?.arrayValue ?? []) + ($0["notReadyAddresses"]?.arrayValue ?? []) }
                guard addresses.contains(where: { $0["ip"]?.stringValue == text }) else { continue }
                let namespace = key.split(separator: "/").first.map(String.init) ?? "default"
                names.append("\(text.replacingOccurrences(of: ".", with: "-")).\(namespace).pod.\(ClusterName.domain)")
                break
            }
        }
        return names.isEmpty ? nil : names.sorted()
    }

    /// A service's port by name and protocol (lowercase, as in an SRV name), nil when the
    /// service or the port does not exist.
    func port(service name: String, namespace: String, portName: String, protocol proto: String) -> UInt16? {
        guard let service = cache.object(Self.services, "\(namespace)/\(name)") else { return nil }
        for port in service["spec"]?["ports"]?.arrayValue ?? [] {
            guard port["name"]?.stringValue?.lowercased() == portName,
                  (port["protocol"]?.stringValue ?? "TCP").lowercased() == proto,
                  let number = port["port"]?.intValue, (1...65535).contains(number) else { continue }
            return UInt16(number)
        }
        return nil
    }

    /// Docker-link style variables for the services of a namespace, as the kubelet sets them
    /// (`enableServiceLinks`): `WEB_SERVICE_HOST`, `WEB_SERVICE_PORT`, `WEB_PORT_80_TCP_ADDR` ….
    /// `only`: just the one service of that name (the API's `kubernetes` Service in `default`).
    func environment(namespace: String, only: String? = nil) -> [(String, String)] {
        let services = cache.objects(Self.services).filter { $0.key.hasPrefix(namespace + "/") && (only == nil || $0.key == "\(namespace)/\(only!)") }
            .sorted { $0.key < $1.key }.map(\.value)
        var variables: [(String, String)] = []
        for service in services {
            guard let ip = service["spec"]?["clusterIP"]?.stringValue, IPv4.isValid(ip),
                  let ports = service["spec"]?["ports"]?.arrayValue, let first = ports.first,
                  let name = service["metadata"]?["name"]?.stringValue else { continue }
            let prefix = name.uppercased().replacingOccurrences(of: "-", with: "_")
            let firstPort = first["port"]?.intValue ?? 0
            variables.append(("\(prefix)_SERVICE_HOST", ip))
            variables.append(("\(prefix)_SERVICE_PORT", String(firstPort)))
            for port in ports {
                guard let number = port["port"]?.intValue else { continue }
                if let portName = port["name"]?.stringValue, !portName.isEmpty {
                    variables.append(("\(prefix)_SERVICE_PORT_\(portName.uppercased().replacingOccurrences(of: "-", with: "_"))", String(number)))
                }
            }
            let firstProtocol = (first["protocol"]?.stringValue ?? "TCP").lowercased()
            variables.append(("\(prefix)_PORT", "\(firstProtocol)://\(ip):\(firstPort)"))
            for port in ports {
                guard let number = port["port"]?.intValue else { continue }
                let proto = port["protocol"]?.stringValue ?? "TCP"
                let base = "\(prefix)_PORT_\(number)_\(proto.uppercased())"
                variables.append((base, "\(proto.lowercased())://\(ip):\(number)"))
                variables.append(("\(base)_PROTO", proto.lowercased()))
                variables.append(("\(base)_PORT", String(number)))
                variables.append(("\(base)_ADDR", ip))
            }
        }
        return variables
    }
}
