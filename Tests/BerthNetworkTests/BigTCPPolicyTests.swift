import BerthNetwork
import BerthTestSupport
import Testing

@Suite("BIG TCP policy", .blockingAllowed)
struct BigTCPPolicyTests {
    static let nic = BigTCP.Sizes(tsoMax: 524_280, gsoMax: 65_536, gsoIPv4Max: 65_536, groIPv4Max: 65_536, kind: "")

    @Test("a device that can transmit 192 KiB buffers gets BIG TCP unless it is off")
    func capableDevice() {
        #expect(BigTCP.usableSize(underlay: Self.nic, policy: .auto) == BigTCP.size)
        #expect(BigTCP.usableSize(underlay: Self.nic, policy: .on) == BigTCP.size)
        #expect(BigTCP.usableSize(underlay: Self.nic, policy: .off) == nil)
    }

    @Test("a kernel without IPv4 BIG TCP or a device whose TSO stops at 64 KiB never gets it")
    func incapable() {
        var old = Self.nic
        old.gsoIPv4Max = nil
        #expect(BigTCP.usableSize(underlay: old, policy: .on) == nil)
        var small = Self.nic
        small.tsoMax = 65_536
        #expect(BigTCP.usableSize(underlay: small, policy: .on) == nil)
    }

    @Test("a veth underlay (a software switch between hosts) gets it only when asked for")
    func vethUnderlay() {
        var veth = Self.nic
        veth.kind = "veth"
        #expect(BigTCP.usableSize(underlay: veth, policy: .auto) == nil)
        #expect(BigTCP.usableSize(underlay: veth, policy: .on) == BigTCP.size)
    }

    @Test("the policy parses from the flag's words only")
    func parsing() {
        #expect(BigTCP.Policy(rawValue: "auto") == .auto)
        #expect(BigTCP.Policy(rawValue: "yes") == nil)
    }
}
