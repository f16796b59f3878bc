import BerthCore
import CBerthSys
import Glibc

/// IPv4 BIG TCP (Linux 6.3+): TCP in a pod builds segments of up to 192 KiB instead of 64 KiB,
/// and each hop of the pod path (veth, bridge, forwarding, the underlay device) handles one
/// socket buffer per 192 KiB instead of per 64 KiB. Every device such a buffer leaves through
/// must allow the size (`gso_ipv4_max_size`), or the kernel cuts it into MTU-sized packets in
/// software there, which is far slower than not using BIG TCP at all. So it is used only in
/// routed mode (a VXLAN device cannot encapsulate buffers above 64 KiB), and only when the
/// device carrying the node address can transmit them (`tso_max_size`); the agent then raises
/// that device, the pod bridge and both ends of every pod's veth. Cilium does the same.
///
/// A software switch between hosts (a Linux bridge of veths: nested or simulated hosts) passes
/// the buffers on unsegmented and must allow the size too, which the agent cannot check from
/// its host; so by default (`auto`) an underlay that is itself a veth is left alone, and `on`
/// says the operator has made the switch ready.
public enum BigTCP {
    public enum Policy: String, Sendable, CaseIterable {
        case auto, on, off
    }

    /// The size Berth sets: 192 KiB, Cilium's default.
    public static let size: UInt32 = 196_608
    /// The kernel's default, restored by `berth cleanup`.
    public static let defaultSize: UInt32 = 65_536

    public struct Sizes: Sendable, Equatable {
        public var tsoMax: UInt32
        public var gsoMax: UInt32
        /// nil when the kernel predates IPv4 BIG TCP.
        public var gsoIPv4Max: UInt32?
        public var groIPv4Max: UInt32?
        /// The link's kind ("veth", "bridge"…), empty for a physical device.
        public var kind: String

        public init(tsoMax: UInt32, gsoMax: UInt32, gsoIPv4Max: UInt32?, groIPv4Max: UInt32?, kind: String = "") {
            self.tsoMax = tsoMax
            self.gsoMax = gsoMax
            self.gsoIPv4Max = gsoIPv4Max
            self.groIPv4Max = groIPv4Max
            self.kind = kind
        }
    }

    /// The link's sizes, in the network namespace at `namespacePath` (nil: the agent's own).
    public static func sizes(of interface: String, namespacePath: String? = nil) throws(BerthError) -> Sizes {
        var raw = berth_link_sizes()
        let result = call(namespacePath) { berth_link_sizes($0, interface, &raw) }
        guard result == 0 else { throw failure("read the offload sizes of", interface, result) }
        let kind = withUnsafeBytes(of: raw.kind) { bytes in String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
        return Sizes(tsoMax: raw.tso_max_size, gsoMax: raw.gso_max_size,
                     gsoIPv4Max: raw.gso_ipv4_max_size == 0 ? nil : raw.gso_ipv4_max_size,
                     groIPv4Max: raw.gro_ipv4_max_size == 0 ? nil : raw.gro_ipv4_max_size, kind: kind)
    }

    /// Sets the link's IPv4 GSO and GRO limits to `size`.
    public static func set(_ interface: String, to size: UInt32, namespacePath: String? = nil) throws(BerthError) {
        let result = call(namespacePath) { berth_link_set_ipv4_offload_size($0, interface, size) }
        guard result == 0 else { throw failure("set the IPv4 offload size of", interface, result) }
    }

    /// The size pods may use when `underlay` carries their traffic to other hosts: nil when the
    /// policy is off, the kernel has no IPv4 BIG TCP, the device cannot transmit buffers that
    /// large, or (`auto`) the device is a veth.
    public static func usableSize(underlay: Sizes, policy: Policy) -> UInt32? {
        guard policy != .off, underlay.gsoIPv4Max != nil, underlay.tsoMax >= size else { return nil }
        if policy == .auto && underlay.kind == "veth" { return nil }
        return size
    }

    private static func call(_ namespacePath: String?, _ body: (UnsafePointer<CChar>?) -> Int32) -> Int32 {
        guard let namespacePath else { return body(nil) }
        return namespacePath.withCString { body($0) }
    }

    private static func failure(_ what: String, _ interface: String, _ result: Int32) -> BerthError {
        BerthError(.internalError, "could not \(what) \(interface): \(String(cString: strerror(-result)))")
    }
}
