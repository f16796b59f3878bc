import BerthCore
import BerthStore

/// Gives a new Service its cluster IP (from the service CIDR) and node ports (30000–32767).
/// Free values are found against the Services already stored; the network issue replaces this
/// with allocations recorded in the store so two concurrent creates can never pick the same one.
extension APIServer {
    func allocateServiceAddresses(_ service: JSONValue) async throws(BerthError) -> JSONValue {
        var result = service
        let type = service.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        guard type != "ExternalName" else { return result }
        guard let (base, size) = Self.parseCIDR(configuration.serviceCIDR) else {
            throw BerthError(.internalError, "failed to allocate a cluster ip: invalid service cidr \(configuration.serviceCIDR)")
        }
        let page = try await storage.list(.service, namespace: nil, limit: 0, continueAfter: nil)
        var usedIPs = Set<UInt32>()
        var usedPorts = Set<Int>()
        for kv in page.kvs {
            let existing = try ObjectCodec.decode(kv)
            if let ip = existing.value(at: ["spec", "clusterIP"])?.stringValue.flatMap(IPv4.parse) { usedIPs.insert(ip) }
            for port in existing.value(at: ["spec", "ports"])?.arrayValue ?? [] {
                if let nodePort = port["nodePort"]?.intValue { usedPorts.insert(nodePort) }
            }
        }
        let name = service.value(at: ["metadata", "name"])?.stringValue ?? ""
        let requested = service.value(at: ["spec", "clusterIP"])?.stringValue ?? ""
        if requested == "None" {
            result.set(["None"], at: ["spec", "clusterIPs"])
        } else if !requested.isEmpty {
            guard let address = IPv4.parse(requested), address >= base, address < base &+ size else {
                throw BerthError.invalid(kind: "Service", name: name, causes: [.invalid("spec.clusterIP", requested, "provided IP is not in the valid range. The range of valid IPs is \(configuration.serviceCIDR)")])
            }
            if usedIPs.contains(address) {
                throw BerthError.invalid(kind: "Service", name: name, causes: [.invalid("spec.clusterIP", requested, "provided IP is already allocated")])
            }
            result.set([.string(requested)], at: ["spec", "clusterIPs"])
        } else {
            // Skip the network and the first address (reserved, as Kubernetes does for the API service).
            var chosen: UInt32?
            for _ in 0..<64 {
                let candidate = base &+ UInt32.random(in: 2..<(size - 1))
                if !usedIPs.contains(candidate) { chosen = candidate; break }
            }
            guard let chosen else { throw BerthError(.internalError, "failed to allocate a cluster ip: range is full") }
            let text = Self.formatIPv4(chosen)
            result.set(.string(text), at: ["spec", "clusterIP"])
            result.set([.string(text)], at: ["spec", "clusterIPs"])
        }
        result.set(["IPv4"], at: ["spec", "ipFamilies"])
        result.set("SingleStack", at: ["spec", "ipFamilyPolicy"])
        if type == "NodePort" || type == "LoadBalancer" {
            var ports = result.value(at: ["spec", "ports"])?.arrayValue ?? []
            for index in ports.indices {
                if let requestedPort = ports[index]["nodePort"]?.intValue, requestedPort != 0 {
                    if usedPorts.contains(requestedPort) {
                        throw BerthError.invalid(kind: "Service", name: name, causes: [.invalid("spec.ports[\(index)].nodePort", String(requestedPort), "provided port is already allocated")])
                    }
                    usedPorts.insert(requestedPort)
                    continue
                }
                guard let free = (0..<64).lazy.map({ _ in Int.random(in: 30000...32767) }).first(where: { !usedPorts.contains($0) }) else {
                    throw BerthError(.internalError, "failed to allocate a node port: range is full")
                }
                usedPorts.insert(free)
                ports[index]["nodePort"] = .number(String(free))
            }
            result.set(.array(ports), at: ["spec", "ports"])
            result.set("Cluster", at: ["spec", "externalTrafficPolicy"])
        }
        return result
    }

    static func parseCIDR(_ text: String) -> (UInt32, UInt32)? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPv4.parse(String(parts[0])), let bits = Int(parts[1]), (8...30).contains(bits) else { return nil }
        let size = UInt32(1) << UInt32(32 - bits)
        return (address & ~(size - 1), size)
    }

    static func formatIPv4(_ value: UInt32) -> String {
        "\(value >> 24).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(value & 0xFF)"
    }
}
