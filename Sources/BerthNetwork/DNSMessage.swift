/// Just enough of the DNS wire format (RFC 1035, SRV from RFC 2782) for the cluster resolver:
/// one question in, A, SRV or PTR records or an error out.
public struct DNSQuery: Sendable, Equatable {
    public var id: UInt16
    public var recursionDesired: Bool
    /// Lowercased, without the trailing dot.
    public var name: String
    public var type: UInt16
    public var qclass: UInt16
    /// The question section as received, echoed in the answer.
    var question: ArraySlice<UInt8>

    public static let typeA: UInt16 = 1
    public static let typeAAAA: UInt16 = 28
    public static let typeSRV: UInt16 = 33
    public static let typePTR: UInt16 = 12

    /// Nil for anything that is not a well-formed standard query with one question.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count >= 12, bytes[2] & 0x80 == 0, (bytes[2] >> 3) & 0x0F == 0,
              bytes[4] == 0, bytes[5] == 1 else { return nil }
        id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        recursionDesired = bytes[2] & 1 == 1
        var offset = 12
        var labels: [String] = []
        while true {
            guard offset < bytes.count else { return nil }
            let length = Int(bytes[offset])
            offset += 1
            if length == 0 { break }
            // Compression pointers (0xC0) do not appear in a question; longer labels are invalid.
            guard length <= 63, offset + length <= bytes.count else { return nil }
            labels.append(String(decoding: bytes[offset..<offset + length], as: UTF8.self).lowercased())
            offset += length
            guard labels.count <= 127 else { return nil }
        }
        guard offset + 4 <= bytes.count else { return nil }
        type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        qclass = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
        question = bytes[12..<offset + 4]
        name = labels.joined(separator: ".")
    }

    public enum Code: UInt8, Sendable {
        case noError = 0, formatError = 1, serverFailure = 2, nameError = 3, notImplemented = 4, refused = 5
    }

    /// The answer: authoritative, the question echoed, one A record per address, one SRV
    /// record per service and one PTR record per name (TTL seconds).
    public func answer(_ code: Code, addresses: [UInt32] = [], services: [SRVRecord] = [], pointers: [String] = [], ttl: UInt32 = 5) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x84 | (recursionDesired ? 1 : 0), code.rawValue]
        let count = UInt16(addresses.count + services.count + pointers.count)
        out += [0, 1, UInt8(count >> 8), UInt8(count & 0xFF), 0, 0, 0, 0]
        out += question
        let ttlBytes = [UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xFF), UInt8((ttl >> 8) & 0xFF), UInt8(ttl & 0xFF)]
        for address in addresses {
            // Name: a pointer to the question's name at offset 12.
            out += [0xC0, 0x0C, 0, 1, 0, 1] + ttlBytes + [0, 4]
            out += [UInt8(address >> 24), UInt8((address >> 16) & 0xFF), UInt8((address >> 8) & 0xFF), UInt8(address & 0xFF)]
        }
        for service in services {
            let data = Self.be16(service.priority) + Self.be16(service.weight) + Self.be16(service.port) + Self.encodeName(service.target)
            out += [0xC0, 0x0C, 0, UInt8(Self.typeSRV), 0, 1] + ttlBytes + Self.be16(UInt16(data.count)) + data
        }
        for name in pointers {
            let data = Self.encodeName(name)
            out += [0xC0, 0x0C, 0, UInt8(Self.typePTR), 0, 1] + ttlBytes + Self.be16(UInt16(data.count)) + data
        }
        return out
    }

    /// A host name as length-prefixed labels (each cut at 63 bytes), ending with the root.
    static func encodeName(_ name: String) -> [UInt8] {
        var data: [UInt8] = []
        for label in name.split(separator: ".") {
            data.append(UInt8(min(63, label.utf8.count)))
            data += Array(label.utf8.prefix(63))
        }
        data.append(0)
        return data
    }

    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
}

/// One SRV answer: where a named port of a service is.
public struct SRVRecord: Sendable, Equatable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    /// A host name, without the trailing dot.
    public var target: String

    public init(priority: UInt16 = 0, weight: UInt16 = 100, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// What the cluster resolver answers for a name under `cluster.local`.
public enum ClusterName: Equatable, Sendable {
    /// `SERVICE.NAMESPACE.svc.cluster.local`
    case service(name: String, namespace: String)
    /// `_PORT-NAME._PROTOCOL.SERVICE.NAMESPACE.svc.cluster.local` (SRV), protocol lowercased
    case servicePort(port: String, protocol: String, name: String, namespace: String)
    /// `A-B-C-D.NAMESPACE.pod.cluster.local`
    case pod(address: UInt32)
    /// `HOSTNAME.SERVICE.NAMESPACE.svc.cluster.local`: a pod with that hostname whose subdomain
    /// is the (headless) Service, as StatefulSet pods are named.
    case endpoint(hostname: String, service: String, namespace: String)
    /// `D.C.B.A.in-addr.arpa` (PTR): answered when the address is a Service's or a pod's,
    /// relayed to the host's resolvers otherwise.
    case reverse(address: UInt32)
    /// Under the cluster domain but nothing Berth serves.
    case unknown
    /// Outside the cluster domain: for the host's resolvers.
    case external

    public static let domain = "cluster.local"

    public init(_ name: String) {
        if name.hasSuffix(".in-addr.arpa") {
            let octets = name.split(separator: ".").dropLast(2).map { UInt32($0) }
            if octets.count == 4, octets.allSatisfy({ ($0 ?? 256) <= 255 }) {
                self = .reverse(address: octets.reversed().reduce(0) { $0 << 8 | ($1 ?? 0) })
            } else {
                self = .external
            }
            return
        }
        guard name == Self.domain || name.hasSuffix("." + Self.domain) else {
            self = .external
            return
        }
        let labels = name.split(separator: ".").dropLast(2).map(String.init)
        if labels.count == 3, labels[2] == "svc" {
            self = .service(name: labels[0], namespace: labels[1])
        } else if labels.count == 4, labels[3] == "svc", !labels[0].hasPrefix("_") {
            self = .endpoint(hostname: labels[0], service: labels[1], namespace: labels[2])
        } else if labels.count == 5, labels[4] == "svc", labels[0].hasPrefix("_"), labels[1].hasPrefix("_") {
            self = .servicePort(port: String(labels[0].dropFirst()), protocol: String(labels[1].dropFirst()), name: labels[2], namespace: labels[3])
        } else if labels.count == 3, labels[2] == "pod" {
            let octets = labels[0].split(separator: "-").compactMap { UInt32($0) }
            if octets.count == 4, octets.allSatisfy({ $0 <= 255 }) {
                self = .pod(address: octets.reduce(0) { $0 << 8 | $1 })
            } else {
                self = .unknown
            }
        } else {
            self = .unknown
        }
    }
}
