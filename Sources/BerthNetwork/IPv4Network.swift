import BerthCore

/// An IPv4 network such as `100.96.3.0/24`: the base address (host bits cleared) and the prefix.
public struct IPv4Network: Hashable, Sendable, CustomStringConvertible {
    public let base: UInt32
    public let prefixLength: Int

    public init(base: UInt32, prefixLength: Int) {
        precondition((0...32).contains(prefixLength))
        self.prefixLength = prefixLength
        self.base = base & Self.mask(prefixLength)
    }

    /// Parses `A.B.C.D/N`; host bits set in the address are an error (`100.96.3.7/24` is not a network).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4.parse(String(parts[0])), parts[1].allSatisfy(\.isNumber),
              let bits = Int(parts[1]), (0...32).contains(bits), address & ~Self.mask(bits) == 0 else { return nil }
        self.init(base: address, prefixLength: bits)
    }

    static func mask(_ bits: Int) -> UInt32 { bits == 0 ? 0 : ~UInt32(0) << UInt32(32 - bits) }

    /// Number of addresses, network and broadcast included.
    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }
    public var last: UInt32 { base | ~Self.mask(prefixLength) }

    public func contains(_ address: UInt32) -> Bool { address & Self.mask(prefixLength) == base }
    public func contains(_ other: IPv4Network) -> Bool { other.prefixLength >= prefixLength && contains(other.base) }
    public func overlaps(_ other: IPv4Network) -> Bool { contains(other.base) || other.contains(base) }

    public var description: String { "\(Self.format(base))/\(prefixLength)" }

    public static func format(_ address: UInt32) -> String {
        "\(address >> 24).\((address >> 16) & 0xFF).\((address >> 8) & 0xFF).\(address & 0xFF)"
    }
}
