/// The addresses of one node's pod subnet: `.1` is the bridge (the pods' gateway), the network and
/// broadcast addresses are never given out. Allocation goes round-robin from the last address
/// handed out, so a released address is not reused at once (stale conntrack entries and ARP
/// caches of peers would otherwise reach the new pod).
public struct PodAddressPool: Sendable {
    public let subnet: IPv4Network
    private(set) public var owners: [UInt32: String] = [:]
    private var cursor: UInt32

    public init(subnet: IPv4Network) {
        self.subnet = subnet
        cursor = subnet.base &+ 1
    }

    public var gateway: UInt32 { subnet.base &+ 1 }
    var first: UInt32 { subnet.base &+ 2 }
    var lastUsable: UInt32 { subnet.last &- 1 }
    public var capacity: Int { subnet.prefixLength >= 31 ? 0 : Int(lastUsable - first + 1) }

    public func owner(of address: UInt32) -> String? { owners[address] }
    public func address(of owner: String) -> UInt32? { owners.first { $0.value == owner }?.key }

    /// Records an address already in use (found on start-up); false when it is outside the
    /// usable range or held by someone else.
    @discardableResult
    public mutating func claim(_ address: UInt32, for owner: String) -> Bool {
        guard address >= first, address <= lastUsable, subnet.contains(address) else { return false }
        if let holder = owners[address] { return holder == owner }
        owners[address] = owner
        return true
    }

    /// The owner's address, allocating the next free one if it has none; nil when the subnet is full.
    public mutating func allocate(for owner: String) -> UInt32? {
        if let existing = address(of: owner) { return existing }
        guard capacity > 0, owners.count < capacity else { return nil }
        var candidate = cursor
        for _ in 0..<capacity {
            candidate = candidate >= lastUsable || candidate < first ? first : candidate &+ 1
            if owners[candidate] == nil {
                owners[candidate] = owner
                cursor = candidate
                return candidate
            }
        }
        return nil
    }

    public mutating func release(owner: String) {
        for (address, holder) in owners where holder == owner { owners.removeValue(forKey: address) }
    }
}
