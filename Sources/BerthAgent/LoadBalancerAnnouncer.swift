import BerthCore
import BerthNetwork
import Foundation
import Logging

/// Announces the load-balancer addresses this node holds the Lease of (`AddressLease`): for
/// every address of a LoadBalancer Service that lies in one of this host's networks, it
/// contends for the address's Lease each pass; while it holds it, the address is on the host
/// interface of that network (`AnnouncedAddresses`), where the service rules take its traffic
/// to the endpoints. Losing the Lease, the Service, or the network withdraws it. On shutdown
/// the node gives its Leases back, so another node takes over within a pass.
actor LoadBalancerAnnouncer {
    let api: AgentAPI
    let node: String
    let addresses: AnnouncedAddresses
    let logger: Logger
    private var desired: Set<String> = []
    private var held: [String: String] = [:]
    private var networks: [AnnouncedAddresses.HostNetworkEntry] = []
    private var networksRead = Date.distantPast
    private var lastAnnounced: [String: Date] = [:]
    static let interval: Duration = .milliseconds(400)

    /// Where the addresses added to host interfaces are recorded.
    static func recordPath(_ configuration: AgentConfiguration) -> String { configuration.dataDirectory + "/load-balancer-addresses" }

    init(api: AgentAPI, node: String, recordPath: String, logger: Logger) {
        self.api = api
        self.node = node
        addresses = AnnouncedAddresses(recordPath: recordPath)
        self.logger = logger
    }

    /// The addresses of LoadBalancer Services, from the service watch.
    func want(_ addresses: Set<String>) { desired = addresses }

    func run() async {
        // What a previous run of this agent left on the host goes first: its Leases have
        // expired or will, and the owner is decided again.
        await addresses.releaseAll()
        while !Task.isCancelled {
            await pass()
            try? await Task.sleep(for: Self.interval)
        }
        await giveBack()
    }

    private func pass() async {
        let now = Date()
        if now.timeIntervalSince(networksRead) > 10 {
            networks = await AnnouncedAddresses.hostNetworks()
            networksRead = now
        }
        for address in desired.union(held.keys).sorted() {
            guard desired.contains(address), let value = IPv4.parse(address),
                  let interface = AnnouncedAddresses.interface(for: value, in: networks) else {
                await withdraw(address)
                continue
            }
            if await contend(address, now: now) {
                if held[address] == nil {
                    do throws(BerthError) {
                        try await addresses.claim(address, interface: interface)
                        held[address] = interface
                        lastAnnounced[address] = now
                        logger.info("announcing a load-balancer address", metadata: ["address": "\(address)", "interface": "\(interface)"])
                    } catch {
                        logger.warning("could not announce a load-balancer address", metadata: ["address": "\(address)", "error": "\(error.message)"])
                    }
                } else if now.timeIntervalSince(lastAnnounced[address] ?? .distantPast) > 30 {
                    // Now and then again, for neighbours that joined or flushed their cache.
                    addresses.announce(value, interface: interface)
                    lastAnnounced[address] = now
                }
            } else {
                await withdraw(address)
            }
        }
    }

    /// Whether this node holds the address's Lease after this pass.
    private func contend(_ address: String, now: Date) async -> Bool {
        let collection = "/apis/coordination.k8s.io/v1/namespaces/\(AddressLease.namespace)/leases"
        let path = "\(collection)/\(AddressLease.name(address))"
        do throws(BerthError) {
            let lease = try await api.getIfPresent(JSONValue.self, path)
            let decision = AddressLease.decide(lease, node: node, now: now)
            guard let updated = AddressLease.updated(lease, address: address, node: node, now: now, decision: decision) else { return false }
            if decision == .create { try await api.create(collection, updated) } else { try await api.put(path, updated) }
            renewals[address] = now
            if decision == .takeOver {
                logger.info("took over a load-balancer address", metadata: ["address": "\(address)",
                                                                              "from": "\(lease?.value(at: ["spec", "holderIdentity"])?.stringValue ?? "")"])
            }
            return true
        } catch {
            // A conflict: another node won this round. Anything else: keep what we had only
            // while our last renewal is still valid.
            if error.code == .conflict || error.code == .alreadyExists { return false }
            logger.warning("load-balancer lease unreachable", metadata: ["address": "\(address)", "error": "\(error.message)"])
            return held[address] != nil && now.timeIntervalSince(lastRenewal(address)) < Double(AddressLease.durationSeconds) / 2
        }
    }

    private var renewals: [String: Date] = [:]
    private func lastRenewal(_ address: String) -> Date { renewals[address] ?? .distantPast }

    private func withdraw(_ address: String) async {
        guard let interface = held.removeValue(forKey: address) else { return }
        await addresses.release(address, interface: interface)
        lastAnnounced.removeValue(forKey: address)
        logger.info("withdrew a load-balancer address", metadata: ["address": "\(address)"])
    }

    /// Withdraws every address and deletes the Leases held, so others need not wait them out.
    private func giveBack() async {
        let api = self.api
        for address in held.keys.sorted() {
            await withdraw(address)
            // In a task of its own: this one is cancelled, and the HTTP client would refuse.
            let path = "/apis/coordination.k8s.io/v1/namespaces/\(AddressLease.namespace)/leases/\(AddressLease.name(address))"
            await Task { try? await api.delete(path) }.value
        }
    }
}
