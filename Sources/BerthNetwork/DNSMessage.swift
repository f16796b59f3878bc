/// Just enough of the DNS wire format (RFC 1035) for the cluster resolver: one question in,
/// A records or an error out.
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

    /// The answer: authoritative, the question echoed, one A record per address (TTL seconds).
    public func answer(_ code: Code, addresses: [UInt32] = [], ttl: UInt32 = 5) -> [UInt8] {
        var out: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xFF), 0x84 | (recursionDesired ? 1 : 0), code.rawValue]
        let count = UInt16(addresses.count)
        out += [0, 1, UInt8(count >> 8), UInt8(count & 0xFF), 0, 0, 0, 0]
        out += question
        for address in addresses {
            // Name: a pointer to the question's name at offset 12.
            out += [0xC0, 0x0C, 0, 1, 0, 1]
            out += [UInt8(ttl >> 24), UInt8((ttl >> 16) & 0xFF), UInt8((ttl >> 8) & 0xFF), UInt8(ttl & 0xFF), 0, 4]
            out += [UInt8(address >> 24), UInt8((address >> 16) & 0xFF), UInt8((address >> 8) & 0xFF), UInt8(address & 0xFF)]
        }
        return out
    }
}

/// What the cluster resolver answers for a name under `cluster.local`.
public enum ClusterName: Equatable, Sendable {
    /// `SERVICE.NAMESPACE.svc.cluster.local`
    case service(name: String, namespace: String)
    /// `A-B-C-D.NAMESPACE.pod.cluster.local`
    case pod(address: UInt32)
    /// Under the cluster domain but nothing Berth serves.
    case unknown
    /// Outside the cluster domain: for the host's resolvers.
    case external

    public static let domain = "cluster.local"

    public init(_ name: String) {
        guard name == Self.domain || name.hasSuffix("." + Self.domain) else {
            self = .external
            return
        }
        let labels = name.split(separator: ".").dropLast(2).map(String.init)
        if labels.count == 3, labels[2] == "svc" {
            self = .service(name: labels[0], namespace: labels[1])
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
