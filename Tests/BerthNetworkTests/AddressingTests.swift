import BerthCore
import BerthNetwork
import BerthTestSupport
import Testing

@Suite("pod addressing", .blockingAllowed)
struct AddressingTests {
    @Test("networks parse only with host bits clear, and overlap as ranges do")
    func networks() {
        #expect(IPv4Network("100.96.3.0/24")?.description == "100.96.3.0/24")
        #expect(IPv4Network("100.96.3.7/24") == nil)
        #expect(IPv4Network("100.96.3.0/33") == nil)
        #expect(IPv4Network("100.96.3.0") == nil)
        let cluster = IPv4Network("100.96.0.0/11")!
        #expect(cluster.last == IPv4.parse("100.127.255.255"))
        #expect(cluster.contains(IPv4Network("100.127.4.0/24")!))
        #expect(!cluster.contains(IPv4Network("100.128.0.0/24")!))
        #expect(IPv4Network("100.96.0.0/16")!.overlaps(IPv4Network("100.96.9.0/24")!))
        #expect(!IPv4Network("100.96.8.0/24")!.overlaps(IPv4Network("100.96.9.0/24")!))
    }

    @Test("node subnets: the lowest /24 that overlaps nothing in use, nil when the range is full")
    func nodeSubnets() {
        let allocator = NodeSubnetAllocator(cluster: IPv4Network("100.96.0.0/22")!)
        #expect(allocator.next(used: [])?.description == "100.96.0.0/24")
        #expect(allocator.next(used: [IPv4Network("100.96.0.0/24")!, IPv4Network("100.96.2.0/24")!])?.description == "100.96.1.0/24")
        // A bigger network in use takes every /24 inside it; one outside the range takes none.
        #expect(allocator.next(used: [IPv4Network("100.96.0.0/23")!, IPv4Network("100.200.0.0/24")!])?.description == "100.96.2.0/24")
        #expect(allocator.next(used: (0..<4).map { IPv4Network("100.96.\($0).0/24")! }) == nil)
    }

    @Test("pod addresses: never .0, .1 (the bridge) or .255, never twice, round-robin after release, claims checked")
    func podAddresses() {
        var pool = PodAddressPool(subnet: IPv4Network("100.96.5.0/24")!)
        #expect(pool.capacity == 253)
        let first = pool.allocate(for: "a")
        #expect(first == IPv4.parse("100.96.5.2"))
        #expect(pool.allocate(for: "a") == first)
        #expect(pool.allocate(for: "b") == IPv4.parse("100.96.5.3"))
        pool.release(owner: "a")
        // Released .2 is not handed out again at once.
        #expect(pool.allocate(for: "c") == IPv4.parse("100.96.5.4"))
        let taken = pool.claim(IPv4.parse("100.96.5.3")!, for: "d")
        let own = pool.claim(IPv4.parse("100.96.5.3")!, for: "b")
        let gateway = pool.claim(IPv4.parse("100.96.5.1")!, for: "d")
        let outside = pool.claim(IPv4.parse("100.96.6.9")!, for: "d")
        #expect(!taken && own && !gateway && !outside)
        var seen = Set<UInt32>()
        var full = PodAddressPool(subnet: IPv4Network("100.96.5.0/24")!)
        for index in 0..<253 {
            guard let address = full.allocate(for: "p\(index)") else { Issue.record("ran out at \(index)"); return }
            #expect(seen.insert(address).inserted)
            #expect(address > IPv4.parse("100.96.5.1")! && address < IPv4.parse("100.96.5.255")!)
        }
        #expect(full.allocate(for: "one-too-many") == nil)
    }

    @Test("cross-host entries: a route per peer in routed mode; neighbour, forwarding and onlink route in vxlan mode")
    func crossHostPlan() {
        let peer = PeerNode(name: "b", address: IPv4.parse("100.72.1.2")!, podSubnet: IPv4Network("100.96.7.0/24")!)
        #expect(CrossHostPlan.add(peer, mode: .routed) == ["route replace 100.96.7.0/24 via 100.72.1.2 proto 77"])
        #expect(CrossHostPlan.vtepMAC(peer.podSubnet) == "0e:be:64:60:07:00")
        #expect(CrossHostPlan.add(peer, mode: .vxlan) == [
            "neigh replace 100.96.7.0 lladdr 0e:be:64:60:07:00 dev berth.vx nud permanent",
            "route replace 100.96.7.0/24 via 100.96.7.0 dev berth.vx onlink proto 77",
        ])
        #expect(CrossHostPlan.forwardingAdd(peer) == "fdb replace 0e:be:64:60:07:00 dev berth.vx dst 100.72.1.2 self permanent")
        #expect(CrossHostPlan.remove(peer, mode: .routed) == ["route del 100.96.7.0/24 proto 77"])
    }
}
