import BerthCore
import BerthRuntime
import CBerthSys
import Foundation

/// Load-balancer addresses this host answers for on its own networks: each one added to the
/// interface whose network holds it, as a /32 (so the kernel answers ARP for it and traffic to
/// it is delivered here, where the service rules send it on), announced by gratuitous ARP so
/// neighbours that knew another host's MAC for it switch at once. What is added is recorded in
/// a file, so a restarted agent or `berth cleanup` removes what an earlier run left.
public final class AnnouncedAddresses: Sendable {
    /// An IPv4 network on one of the host's interfaces.
    public struct HostNetworkEntry: Sendable, Hashable {
        public var interface: String
        public var network: IPv4Network
    }

    let recordPath: String

    public init(recordPath: String) { self.recordPath = recordPath }

    /// The host's IPv4 networks (loopback and /32 host addresses aside), from `ip -j addr`.
    public static func hostNetworks() async -> [HostNetworkEntry] {
        guard let result = try? await Subprocess.run("/usr/sbin/ip", ["-j", "-4", "addr", "show"]), result.succeeded,
              let links = try? JSONParser.parse(result.standardOutput).arrayValue else { return [] }
        var networks: [HostNetworkEntry] = []
        for link in links {
            guard let name = link["ifname"]?.stringValue, name != "lo" else { continue }
            for info in link["addr_info"]?.arrayValue ?? [] {
                guard let local = info["local"]?.stringValue, let address = IPv4.parse(local), let prefix = info["prefixlen"]?.intValue,
                      prefix < 32 else { continue }
                let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - prefix)
                networks.append(HostNetworkEntry(interface: name, network: IPv4Network(base: address & mask, prefixLength: prefix)))
            }
        }
        return networks
    }

    /// The interface whose network holds `address`, if any.
    public static func interface(for address: UInt32, in networks: [HostNetworkEntry]) -> String? {
        networks.first { $0.network.contains(address) }?.interface
    }

    /// Adds the address to the interface and announces it.
    public func claim(_ address: String, interface: String) async throws(BerthError) {
        guard let value = IPv4.parse(address) else { throw BerthError(.invalid, "not an IPv4 address: \(address)") }
        record { $0[address] = interface }
        let result = try await Subprocess.run("/usr/sbin/ip", ["addr", "replace", "\(address)/32", "dev", interface])
        guard result.succeeded else { throw BerthError(.internalError, "failed to add \(address) to \(interface): \(result.errorText)") }
        announce(value, interface: interface)
    }

    /// Gratuitous ARP for an address held here (again: a neighbour may have missed the first).
    public func announce(_ address: UInt32, interface: String) {
        _ = berth_send_gratuitous_arp(interface, address)
    }

    /// Removes the address from the interface.
    public func release(_ address: String, interface: String) async {
        _ = try? await Subprocess.run("/usr/sbin/ip", ["addr", "del", "\(address)/32", "dev", interface])
        record { $0.removeValue(forKey: address) }
    }

    /// Removes every address an earlier run recorded.
    public func releaseAll() async {
        for (address, interface) in recorded() { await release(address, interface: interface) }
    }

    public func recorded() -> [String: String] {
        guard let text = try? String(contentsOfFile: recordPath, encoding: .utf8) else { return [:] }
        var entries: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2 { entries[String(parts[0])] = String(parts[1]) }
        }
        return entries
    }

    private func record(_ change: (inout [String: String]) -> Void) {
        var entries = recorded()
        change(&entries)
        let text = entries.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)\n" }.joined()
        try? FileManager.default.createDirectory(atPath: (recordPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? text.write(toFile: recordPath, atomically: true, encoding: .utf8)
    }
}
