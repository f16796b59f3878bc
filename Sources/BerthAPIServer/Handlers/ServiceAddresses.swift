import BerthCore
import BerthStore
import HTTPTypes
import Hummingbird

/// Gives a new Service its cluster IP (from the service CIDR) and node ports (30000–32767),
/// recorded in the store as reservation keys (`/registry/_allocations/…`) written in the same
/// transaction as the Service: the store refuses a key that exists, so no two Services ever
/// share an address or port — also with several API servers — and a create costs a few key
/// reads instead of a scan of every Service. Deleting the Service deletes its keys in the same
/// transaction; `repairServiceAllocations` rebuilds them at start-up (for Services stored
/// before reservations existed, and keys a crash could have orphaned).
extension APIServer {
    static let clusterIPPrefix = "/registry/_allocations/cluster-ips/"
    static let nodePortPrefix = "/registry/_allocations/node-ports/"

    /// A Service with its addresses chosen, the keys that reserve them, and which of those the
    /// user asked for (a taken one is the user's error, a taken random one is retried).
    struct ServiceAddressPlan {
        var object: JSONValue
        var keys: [String: [UInt8]]
        var requested: [String: StatusCause]
    }

    /// nil: the guard moved (quota or another cross-object check must be done again).
    func createService(_ descriptor: ResourceDescriptor, _ prepared: PreparedWrite, _ query: QueryParameters, headers: HTTPFields,
                       guardedBy guardKey: ObjectStorage.GuardKey?) async throws(BerthError) -> Response? {
        let name = prepared.object.value(at: ["metadata", "name"])?.stringValue ?? ""
        for _ in 0..<16 {
            let plan = try await planServiceAddresses(prepared.object)
            if query["dryRun"] == "All" { return Responses.json(plan.object, status: .created, headers: headers) }
            switch try await storage.create(descriptor, plan.object, reserving: plan.keys, guardedBy: guardKey) {
            case .guardMoved:
                return nil
            case .created(let stored):
                return Responses.json(stored, status: .created, headers: headers)
            case .nameTaken:
                throw BerthError.alreadyExists(descriptor.plural, name, group: descriptor.group)
            case .keysTaken(let taken):
                let causes = taken.compactMap { plan.requested[$0] }
                if !causes.isEmpty { throw BerthError.invalid(kind: "Service", name: name, causes: causes) }
                // Two creates drew the same free value at once: draw again.
                continue
            }
        }
        throw BerthError(.internalError, "failed to allocate a cluster ip or node port for service \(name): too many collisions")
    }

    static func reservation(_ service: JSONValue) -> [UInt8] {
        JSONWriter.bytes(["namespace": service.value(at: ["metadata", "namespace"]) ?? .null,
                          "name": service.value(at: ["metadata", "name"]) ?? .null])
    }

    /// The reservation keys a stored Service holds.
    static func reservedKeys(_ service: JSONValue) -> [String] {
        var keys: [String] = []
        if let ip = service.value(at: ["spec", "clusterIP"])?.stringValue, IPv4.parse(ip) != nil { keys.append(clusterIPPrefix + ip) }
        for port in service.value(at: ["spec", "ports"])?.arrayValue ?? [] {
            if let nodePort = port["nodePort"]?.intValue, nodePort > 0 { keys.append(nodePortPrefix + String(nodePort)) }
        }
        return keys
    }

    private func isFree(_ key: String) async throws(BerthError) -> Bool {
        try await storage.kv.get(key) == nil
    }

    /// A random node port whose key `usable` accepts and no Service holds yet.
    private func drawNodePort(_ usable: (String) -> Bool) async throws(BerthError) -> Int {
        for _ in 0..<64 {
            let candidate = Int.random(in: 30000...32767)
            let key = Self.nodePortPrefix + String(candidate)
            if usable(key), try await isFree(key) { return candidate }
        }
        throw BerthError(.internalError, "failed to allocate a node port: range is full")
    }

    func planServiceAddresses(_ service: JSONValue) async throws(BerthError) -> ServiceAddressPlan {
        var result = service
        var keys: [String: [UInt8]] = [:]
        var requested: [String: StatusCause] = [:]
        let value = Self.reservation(service)
        let type = service.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        guard type != "ExternalName" else { return ServiceAddressPlan(object: result, keys: [:], requested: [:]) }
        guard let (base, size) = Self.parseCIDR(configuration.serviceCIDR) else {
            throw BerthError(.internalError, "failed to allocate a cluster ip: invalid service cidr \(configuration.serviceCIDR)")
        }
        let name = service.value(at: ["metadata", "name"])?.stringValue ?? ""
        let wanted = service.value(at: ["spec", "clusterIP"])?.stringValue ?? ""
        if wanted == "None" {
            result.set(["None"], at: ["spec", "clusterIPs"])
        } else if !wanted.isEmpty {
            guard let address = IPv4.parse(wanted), address >= base, address < base &+ size else {
                throw BerthError.invalid(kind: "Service", name: name, causes: [.invalid("spec.clusterIP", wanted, "provided IP is not in the valid range. The range of valid IPs is \(configuration.serviceCIDR)")])
            }
            let key = Self.clusterIPPrefix + Self.formatIPv4(address)
            keys[key] = value
            requested[key] = .invalid("spec.clusterIP", wanted, "provided IP is already allocated")
            result.set([.string(wanted)], at: ["spec", "clusterIPs"])
        } else {
            // Skip the network and the first address (reserved, as Kubernetes does for the API service).
            var chosen: UInt32?
            for _ in 0..<64 {
                let candidate = base &+ UInt32.random(in: 2..<(size - 1))
                if try await isFree(Self.clusterIPPrefix + Self.formatIPv4(candidate)) { chosen = candidate; break }
            }
            guard let chosen else { throw BerthError(.internalError, "failed to allocate a cluster ip: range is full") }
            let text = Self.formatIPv4(chosen)
            keys[Self.clusterIPPrefix + text] = value
            result.set(.string(text), at: ["spec", "clusterIP"])
            result.set([.string(text)], at: ["spec", "clusterIPs"])
        }
        result.set(["IPv4"], at: ["spec", "ipFamilies"])
        result.set("SingleStack", at: ["spec", "ipFamilyPolicy"])
        if type == "NodePort" || type == "LoadBalancer" {
            var ports = result.value(at: ["spec", "ports"])?.arrayValue ?? []
            for index in ports.indices {
                if let port = ports[index]["nodePort"]?.intValue, port != 0 {
                    let key = Self.nodePortPrefix + String(port)
                    if keys[key] != nil {
                        throw BerthError.invalid(kind: "Service", name: name, causes: [.invalid("spec.ports[\(index)].nodePort", String(port), "Duplicate value")])
                    }
                    keys[key] = value
                    requested[key] = .invalid("spec.ports[\(index)].nodePort", String(port), "provided port is already allocated")
                    continue
                }
                let free = try await drawNodePort { keys[$0] == nil }
                keys[Self.nodePortPrefix + String(free)] = value
                ports[index]["nodePort"] = .number(String(free))
            }
            result.set(.array(ports), at: ["spec", "ports"])
            // Kubernetes' default; a policy the client chose (Local) stays.
            if result.value(at: ["spec", "externalTrafficPolicy"]) == nil { result.set("Cluster", at: ["spec", "externalTrafficPolicy"]) }
        }
        return ServiceAddressPlan(object: result, keys: keys, requested: requested)
    }

    /// What Kubernetes carries over on a Service update, applied before admission: the cluster
    /// IP when the new spec leaves it out (kubectl apply and PUTs of a manifest do), node ports
    /// kept from the old port with the same number and protocol, and node ports dropped when the
    /// type no longer uses them.
    static func prepareServiceUpdate(old: JSONValue, new: JSONValue) -> JSONValue {
        var result = new
        let type = new.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        if type != "ExternalName", (new.value(at: ["spec", "clusterIP"])?.stringValue ?? "").isEmpty,
           let oldIP = old.value(at: ["spec", "clusterIP"])?.stringValue, !oldIP.isEmpty {
            for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
                result.set(old.value(at: ["spec", field]), at: ["spec", field])
            }
        }
        guard var ports = new.value(at: ["spec", "ports"])?.arrayValue else { return result }
        if type == "NodePort" || type == "LoadBalancer" {
            var previous: [String: JSONValue] = [:]
            for port in old.value(at: ["spec", "ports"])?.arrayValue ?? [] {
                if let nodePort = port["nodePort"], nodePort.intValue ?? 0 > 0 { previous[Self.portIdentity(port)] = nodePort }
            }
            for index in ports.indices where (ports[index]["nodePort"]?.intValue ?? 0) == 0 {
                if let kept = previous[Self.portIdentity(ports[index])] { ports[index]["nodePort"] = kept }
            }
        } else {
            for index in ports.indices { ports[index]["nodePort"] = nil }
        }
        result.set(.array(ports), at: ["spec", "ports"])
        return result
    }

    private static func portIdentity(_ port: JSONValue) -> String {
        "\(port["port"]?.intValue ?? 0)/\(port["protocol"]?.stringValue ?? "TCP")"
    }

    /// A Service update's addresses: the keys it newly reserves, the keys it lets go, and which
    /// reservations the user asked for by value.
    struct ServiceUpdatePlan {
        var object: JSONValue
        var reserving: [String: [UInt8]]
        var releasing: [String]
        var requested: [String: StatusCause]
    }

    /// After admission: a changed cluster IP is refused (immutable); a Service that had none
    /// (ExternalName before) gets one; new node ports are reserved (a taken requested one is a
    /// 422), missing ones drawn, and ports no longer used released — all in the update's own
    /// transaction.
    func planServiceUpdate(old: JSONValue, new: JSONValue) async throws(BerthError) -> ServiceUpdatePlan {
        let name = new.value(at: ["metadata", "name"])?.stringValue ?? ""
        let oldKeys = Set(Self.reservedKeys(old))
        let type = new.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        let oldIP = old.value(at: ["spec", "clusterIP"])?.stringValue ?? ""
        let newIP = new.value(at: ["spec", "clusterIP"])?.stringValue ?? ""
        if type == "ExternalName" {
            var object = new
            for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] { object.set(nil, at: ["spec", field]) }
            return ServiceUpdatePlan(object: object, reserving: [:], releasing: oldKeys.sorted(), requested: [:])
        }
        if IPv4.parse(oldIP) == nil && oldIP != "None" {
            // No address before (an ExternalName Service): allocate as a create does.
            let plan = try await planServiceAddresses(new)
            let reserving = plan.keys.filter { !oldKeys.contains($0.key) }
            return ServiceUpdatePlan(object: plan.object, reserving: reserving, releasing: oldKeys.subtracting(plan.keys.keys).sorted(),
                                     requested: plan.requested)
        }
        if newIP != oldIP {
            throw BerthError.invalid(kind: "Service", name: name, causes: [.invalid("spec.clusterIP", newIP, "field is immutable")])
        }
        var object = new
        var keys: Set<String> = []
        if IPv4.parse(oldIP) != nil { keys.insert(Self.clusterIPPrefix + oldIP) }
        var reserving: [String: [UInt8]] = [:]
        var requested: [String: StatusCause] = [:]
        if type == "NodePort" || type == "LoadBalancer" {
            let value = Self.reservation(new)
            var ports = new.value(at: ["spec", "ports"])?.arrayValue ?? []
            for index in ports.indices {
                if let port = ports[index]["nodePort"]?.intValue, port != 0 {
                    let key = Self.nodePortPrefix + String(port)
                    if !keys.insert(key).inserted {
                        throw BerthError.invalid(kind: "Service", name: name, causes: [.invalid("spec.ports[\(index)].nodePort", String(port), "Duplicate value")])
                    }
                    if !oldKeys.contains(key) {
                        reserving[key] = value
                        requested[key] = .invalid("spec.ports[\(index)].nodePort", String(port), "provided port is already allocated")
                    }
                    continue
                }
                let free = try await drawNodePort { !keys.contains($0) && !oldKeys.contains($0) }
                let key = Self.nodePortPrefix + String(free)
                keys.insert(key)
                reserving[key] = value
                ports[index]["nodePort"] = .number(String(free))
            }
            object.set(.array(ports), at: ["spec", "ports"])
            if object.value(at: ["spec", "externalTrafficPolicy"]) == nil { object.set("Cluster", at: ["spec", "externalTrafficPolicy"]) }
        }
        return ServiceUpdatePlan(object: object, reserving: reserving, releasing: oldKeys.subtracting(keys).sorted(), requested: requested)
    }

    /// Makes the reservation keys match the stored Services: missing ones written, orphans
    /// (their Service gone) removed. Runs at start-up.
    func repairServiceAllocations() async throws(BerthError) {
        var expected: [String: [UInt8]] = [:]
        for kv in try await storage.list(.service, namespace: nil, limit: 0, continueAfter: nil).kvs {
            let service = try ObjectCodec.decode(kv)
            for key in Self.reservedKeys(service) { expected[key] = Self.reservation(service) }
        }
        var present: Set<String> = []
        for kv in try await storage.kv.list(prefix: "/registry/_allocations/").kvs {
            present.insert(kv.key)
            if expected[kv.key] == nil { _ = try await storage.kv.delete(kv.key) }
        }
        for (key, value) in expected where !present.contains(key) {
            _ = try await storage.kv.txn(if: [.absent(key)], then: [.put(key: key, value: value)], else: [])
        }
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
