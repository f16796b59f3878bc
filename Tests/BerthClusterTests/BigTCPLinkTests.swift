import BerthCore
import BerthNetwork
import BerthTestSupport
import Foundation
import Logging
import Testing

/// The netlink side of BIG TCP on real links, in a network namespace of the test's own.
@Suite("BIG TCP link sizes", .serialized, .blockingAllowed)
struct BigTCPLinkTests {
    static let namespace = "berth-bigtcp-\(getpid())"
    static var path: String { "/run/netns/\(namespace)" }

    static func sh(_ script: String) throws {
        let result = try runCommand("/bin/sh", ["-c", script])
        guard result.status == 0 else { throw BerthError(.internalError, "\(script): \(result.error)") }
    }

    @Test("sizes read back as set, per namespace, and berth cleanup's record restores the old size")
    func readSetRestore() throws {
        try Self.sh("ip netns add \(Self.namespace) && ip -n \(Self.namespace) link add bt0 type veth peer name bt1")
        defer { _ = try? runCommand("/usr/sbin/ip", ["netns", "delete", Self.namespace]) }
        let before = try BigTCP.sizes(of: "bt0", namespacePath: Self.path)
        #expect(before.kind == "veth")
        #expect(before.gsoMax == BigTCP.defaultSize)
        // A link of that name does not exist in the test's own namespace.
        #expect(throws: BerthError.self) { try BigTCP.sizes(of: "bt0") }
        #expect(throws: BerthError.self) { try BigTCP.sizes(of: "no-such-link-x", namespacePath: Self.path) }
        guard let old = before.gsoIPv4Max else { return }  // kernel before 6.3: nothing more to see

        try BigTCP.set("bt0", to: BigTCP.size, namespacePath: Self.path)
        let raised = try BigTCP.sizes(of: "bt0", namespacePath: Self.path)
        #expect(raised.gsoIPv4Max == BigTCP.size)
        #expect(raised.groIPv4Max == BigTCP.size)
        #expect(try BigTCP.sizes(of: "bt1", namespacePath: Self.path).gsoIPv4Max == old)

        // The kernel refuses sizes above what the device can take (veth: 512 KiB).
        #expect(throws: BerthError.self) { try BigTCP.set("bt0", to: 16_000_000, namespacePath: Self.path) }

        // berth cleanup runs in the host's namespace; the record names a device there.
        let record = FileManager.default.temporaryDirectory.appendingPathComponent("big-tcp-\(UUID().uuidString)").path
        let veth = "btr\(getpid() % 100_000)a"
        try Self.sh("ip link add \(veth) type veth peer name btr\(getpid() % 100_000)b")
        defer { _ = try? runCommand("/usr/sbin/ip", ["link", "delete", veth]) }
        try BigTCP.set(veth, to: BigTCP.size)
        try Data("\(veth) \(old)\n".utf8).write(to: URL(fileURLWithPath: record))
        let restored = HostNetwork.restoreUnderlay(record: record, logger: Logger(label: "test"))
        #expect(restored == "offload size \(old) of \(veth)")
        #expect(try BigTCP.sizes(of: veth).gsoIPv4Max == old)
        #expect(!FileManager.default.fileExists(atPath: record))
        #expect(HostNetwork.restoreUnderlay(record: record, logger: Logger(label: "test")) == nil)
    }
}
