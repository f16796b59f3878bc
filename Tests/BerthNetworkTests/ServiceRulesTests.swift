import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

@Suite("service rules", .blockingAllowed)
struct ServiceRulesTests {
    static let entries = [
        ServiceEntry(name: "default/web:http", clusterIP: "100.64.0.10", proto: "tcp", port: 80, nodePort: 30080,
                     endpoints: [.init(ip: "100.96.0.2", port: 8080), .init(ip: "100.96.1.2", port: 8080), .init(ip: "100.96.2.2", port: 8080)]),
        ServiceEntry(name: "default/sticky", clusterIP: "100.64.0.11", proto: "tcp", port: 80, nodePort: nil,
                     endpoints: [.init(ip: "100.96.0.3", port: 80), .init(ip: "100.96.1.3", port: 80)], affinitySeconds: 10800),
        ServiceEntry(name: "default/dns:dns", clusterIP: "100.64.0.12", proto: "udp", port: 53, nodePort: nil, endpoints: [.init(ip: "100.96.0.4", port: 53)]),
        ServiceEntry(name: "default/empty", clusterIP: "100.64.0.13", proto: "tcp", port: 80, nodePort: nil, endpoints: []),
    ]

    @Test("one map lookup per packet; random pick among endpoints; affinity sets; empty services rejected")
    func shape() {
        let text = ServiceRules.render(Self.entries, table: "berth-svc-test")
        #expect(text.contains("100.64.0.10 . tcp . 80 : goto svc-0"))
        #expect(text.contains("tcp . 30080 : goto np-0"))
        #expect(text.contains("numgen random mod 3 vmap { 0 : goto ep-0-0, 1 : goto ep-0-1, 2 : goto ep-0-2 }"))
        #expect(text.contains("meta l4proto tcp dnat to 100.96.1.2:8080"))
        #expect(text.contains("ip saddr @aff-1-0 goto ep-1-0"))
        #expect(text.contains("elements = { 100.64.0.13 . tcp . 80 }"))
        #expect(!text.contains("svc-3"))
    }

    @Test("nft accepts the rendered table (checked in a throwaway network namespace)",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")))
    func nftAccepts() throws {
        for entries in [Self.entries, []] {
            let refusal = try nftRefusal(ServiceRules.render(entries, table: "berth-svc-test"))
            #expect(refusal == nil, "nft refused the rules: \(refusal ?? "")")
        }
    }
}

@Suite("anti-spoofing rules", .blockingAllowed)
struct SpoofRulesTests {
    @Test("nft accepts the bridge table, with and without pods",
          .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")))
    func nftAccepts() throws {
        let ports = [PodPort(interface: "veth1234", mac: "0a:58:64:60:00:02", ip: "100.96.0.2"), PodPort(interface: "veth5678", mac: "0a:58:64:60:00:03", ip: "100.96.0.3")]
        for list in [ports, []] {
            let text = SpoofRules.render(list, table: "berth-spoof-test")
            #expect(text.contains("ether type ip iifname . ether saddr . ip saddr != @addresses"))
            let refusal = try nftRefusal(text)
            #expect(refusal == nil, "nft refused the rules: \(refusal ?? "")")
        }
    }
}
