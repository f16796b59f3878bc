import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// nft's complaint about a rendered table, loaded into a throwaway network namespace; nil when
/// it accepts it.
func nftRefusal(_ text: String) throws -> String? {
    let path = NSTemporaryDirectory() + "berth-rules-\(UUID().uuidString).nft"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
    process.arguments = ["--net", "/usr/sbin/nft", "-f", path]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    process.waitUntilExit()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    return process.terminationStatus == 0 ? nil : message
}

let canRunNFT = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")

@Suite("egress, host port and external IP rules", .blockingAllowed)
struct TrafficRulesTests {
    static let ranges = [IPv4Network("100.96.0.0/11")!, IPv4Network("100.64.0.0/13")!]

    @Test("egress masquerades only what leaves the pod bridge for outside the cluster ranges; off renders an empty chain")
    func egress() throws {
        let on = EgressRules.render(bridge: "berth0", clusterRanges: Self.ranges, masquerade: true, table: "berth-egress-test")
        #expect(on.contains(#"iifname "berth0" oifname != "berth0" ip daddr != { 100.96.0.0/11, 100.64.0.0/13 } masquerade"#))
        let off = EgressRules.render(bridge: "berth0", clusterRanges: Self.ranges, masquerade: false, table: "berth-egress-test")
        #expect(!off.contains("masquerade"))
        if canRunNFT {
            for text in [on, off] { #expect(try nftRefusal(text) == nil) }
        }
    }

    @Test("host ports: one map for every local address, one keyed by hostIP; 0.0.0.0 means any; loopback callers masqueraded")
    func hostPorts() throws {
        let mappings = [
            HostPortMapping(hostIP: nil, hostPort: 8080, proto: "tcp", podIP: "100.96.1.5", containerPort: 80),
            HostPortMapping(hostIP: "0.0.0.0", hostPort: 5353, proto: "udp", podIP: "100.96.1.6", containerPort: 53),
            HostPortMapping(hostIP: "100.72.1.1", hostPort: 9090, proto: "tcp", podIP: "100.96.1.7", containerPort: 9090),
        ]
        let text = HostPortRules.render(mappings, table: "berth-hostport-test")
        #expect(text.contains("tcp . 8080 : 100.96.1.5 . 80"))
        #expect(text.contains("udp . 5353 : 100.96.1.6 . 53"))
        #expect(text.contains("100.72.1.1 . tcp . 9090 : 100.96.1.7 . 9090"))
        #expect(text.contains("fib daddr type local dnat to meta l4proto . th dport map @any-address"))
        #expect(text.contains("ip saddr 127.0.0.0/8 ct status dnat masquerade"))
        if canRunNFT {
            for table in [text, HostPortRules.render([], table: "berth-hostport-test")] { #expect(try nftRefusal(table) == nil) }
        }
    }

    @Test("external IPs share the service map and are masqueraded like node ports; without endpoints they are rejected")
    func externalIPs() throws {
        let entries = [
            ServiceEntry(name: "default/web", clusterIP: "100.64.0.10", proto: "tcp", port: 80, nodePort: nil,
                         endpoints: [.init(ip: "100.96.0.2", port: 8080)], externalIPs: ["100.72.9.50"]),
            ServiceEntry(name: "default/none", clusterIP: "100.64.0.11", proto: "tcp", port: 80, nodePort: nil, endpoints: [], externalIPs: ["100.72.9.51"]),
        ]
        let text = ServiceRules.render(entries, table: "berth-svc-test")
        #expect(text.contains("100.72.9.50 . tcp . 80 : goto np-0"))
        #expect(text.contains("chain np-0 {\n    meta mark set meta mark | 0x4000\n    goto svc-0"))
        #expect(text.contains("100.72.9.51 . tcp . 80"))
        if canRunNFT { #expect(try nftRefusal(text) == nil) }
    }

    @Test("load-balancer addresses go through the node-port masquerade, behind a source-range drop when ranges are given")
    func loadBalancerAddresses() throws {
        let entries = [
            ServiceEntry(name: "default/open", clusterIP: "100.64.0.20", proto: "tcp", port: 80, nodePort: 30080,
                         endpoints: [.init(ip: "100.96.0.2", port: 8080)], loadBalancerIPs: ["100.72.9.100"]),
            ServiceEntry(name: "default/ranged", clusterIP: "100.64.0.21", proto: "tcp", port: 80, nodePort: 30081,
                         endpoints: [.init(ip: "100.96.0.3", port: 8080)], loadBalancerIPs: ["100.72.9.101"], sourceRanges: ["100.72.9.200/32", "100.72.10.0/24"]),
        ]
        let text = ServiceRules.render(entries, table: "berth-svc-test")
        #expect(text.contains("100.72.9.100 . tcp . 80 : goto np-0"))
        #expect(text.contains("100.72.9.101 . tcp . 80 : goto lb-1"))
        #expect(text.contains("chain lb-1 {\n    ip saddr != { 100.72.9.200/32, 100.72.10.0/24 } drop\n    goto np-1"))
        if canRunNFT { #expect(try nftRefusal(text) == nil) }
    }

    @Test("externalTrafficPolicy Local: outside traffic to this node's endpoints only, unmasqueraded; none here: dropped")
    func localPolicy() throws {
        let entries = [
            ServiceEntry(name: "default/local", clusterIP: "100.64.0.30", proto: "tcp", port: 80, nodePort: 30090,
                         endpoints: [.init(ip: "100.96.0.2", port: 8080), .init(ip: "100.96.1.2", port: 8080)], loadBalancerIPs: ["100.72.9.102"],
                         localEndpoints: [.init(ip: "100.96.0.2", port: 8080)]),
            ServiceEntry(name: "default/elsewhere", clusterIP: "100.64.0.31", proto: "tcp", port: 80, nodePort: 30091,
                         endpoints: [.init(ip: "100.96.1.3", port: 8080)], localEndpoints: []),
        ]
        let text = ServiceRules.render(entries, table: "berth-svc-test")
        #expect(text.contains("chain np-0 {\n    meta l4proto tcp dnat to 100.96.0.2:8080\n  }"))
        #expect(text.contains("tcp . 30090 : goto np-0") && text.contains("100.72.9.102 . tcp . 80 : goto np-0"))
        #expect(text.contains("chain np-1 {\n    drop\n  }"))
        #expect(text.contains("100.64.0.30 . tcp . 80 : goto svc-0"), "the cluster IP still reaches every endpoint")
        if canRunNFT { #expect(try nftRefusal(text) == nil) }
    }
}
