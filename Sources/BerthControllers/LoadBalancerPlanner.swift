import BerthCore
import BerthNetwork
import Foundation

/// Which address each Service of type LoadBalancer holds, and what each LoadBalancerPool's
/// status records, from the pools, the Services and their namespaces' labels. Pure, so every
/// rule is tested without a server.
///
/// - A Service keeps the address it has while that address still lies in a pool serving its
///   namespace (and is the one it asks for, if it asks): addresses do not move on their own.
/// - An address asked for (`berth.dev/load-balancer-ip` or `spec.loadBalancerIP`) is given
///   when a pool serving the namespace holds it and no other Service does; else the Service
///   gets none and a problem that says why.
/// - Otherwise the lowest free address of the first pool (by name) that serves the namespace
///   and auto-assigns — or of the pool the Service names (`berth.dev/load-balancer-pool`),
///   which it may use even when that pool does not auto-assign.
/// - Older Services are served first, so a full pool keeps serving those it already served.
/// - Services of another `loadBalancerClass` are left to their controller.
public enum LoadBalancerPlanner {
    public struct Plan: Equatable, Sendable {
        /// `namespace/name` → the address it should show (nil: none) for every LoadBalancer
        /// Service of ours, and for other Services still showing an address of ours.
        public var addresses: [String: String?]
        /// Pool name → its `status.assignments` (address → `namespace/name`).
        public var assignments: [String: [String: String]]
        /// `namespace/name` → why the Service has no address.
        public var problems: [String: String]
    }

    /// The class Berth serves (and Services that name none).
    public static let loadBalancerClass = "berth.dev/load-balancer"

    public static func key(_ service: BerthCore.Service) -> String { "\(service.metadata.namespace ?? "")/\(service.metadata.name ?? "")" }

    public static func currentAddress(_ service: BerthCore.Service) -> String? {
        service.status?.loadBalancer?["ingress"]?.arrayValue?.first?["ip"]?.stringValue
    }

    public static func requestedAddress(_ service: BerthCore.Service) -> String? {
        let asked = service.metadata.annotations?[LoadBalancerPool.addressAnnotation] ?? service.spec?.loadBalancerIP
        return asked.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func isOurs(_ service: BerthCore.Service) -> Bool {
        service.spec?.type == "LoadBalancer" && (service.spec?.loadBalancerClass ?? loadBalancerClass) == loadBalancerClass
            && service.metadata.deletionTimestamp == nil
    }

    public static func plan(pools: [LoadBalancerPool], services: [BerthCore.Service], namespaceLabels: [String: [String: String]]) -> Plan {
        let pools = pools.filter { $0.metadata.deletionTimestamp == nil && $0.spec?.ranges != nil }.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
        var plan = Plan(addresses: [:], assignments: [:], problems: [:])
        for pool in pools { plan.assignments[pool.metadata.name ?? ""] = [:] }
        var taken: [UInt32: String] = [:]
        func owner(of address: UInt32) -> LoadBalancerPool? { pools.first { $0.spec?.contains(address) == true } }

        let ours = services.filter(isOurs).sorted { a, b in
            let (x, y) = (a.metadata.creationTimestamp ?? "", b.metadata.creationTimestamp ?? "")
            return x != y ? x < y : key(a) < key(b)
        }
        // Services that stopped being ours lose an address they show from our pools.
        for service in services where !isOurs(service) {
            if let current = currentAddress(service), let address = IPv4.parse(current), owner(of: address) != nil {
                plan.addresses[key(service)] = .some(nil)
            }
        }
        func eligible(_ service: BerthCore.Service) -> [LoadBalancerPool] {
            let labels = namespaceLabels[service.metadata.namespace ?? ""] ?? [:]
            let named = service.metadata.annotations?[LoadBalancerPool.poolAnnotation]
            return pools.filter { pool in
                (named == nil || pool.metadata.name == named) && pool.spec?.serves(namespaceLabels: labels) == true
            }
        }
        func give(_ address: UInt32, in pool: LoadBalancerPool, to service: BerthCore.Service) {
            taken[address] = key(service)
            plan.assignments[pool.metadata.name ?? "", default: [:]][IPv4Network.format(address)] = key(service)
            plan.addresses[key(service)] = .some(IPv4Network.format(address))
        }

        // First the addresses Services hold already and may keep.
        var needing: [BerthCore.Service] = []
        for service in ours {
            let requested = requestedAddress(service)
            if let current = currentAddress(service), let address = IPv4.parse(current), requested == nil || requested == current,
               taken[address] == nil, let pool = eligible(service).first(where: { $0.spec?.contains(address) == true }) {
                give(address, in: pool, to: service)
            } else {
                needing.append(service)
            }
        }
        // Then the rest, oldest first.
        for service in needing {
            let namespace = service.metadata.namespace ?? ""
            let pools = eligible(service)
            if let requested = requestedAddress(service) {
                guard let address = IPv4.parse(requested) else {
                    plan.problems[key(service)] = "the requested address \(requested) is not an IPv4 address"
                    plan.addresses[key(service)] = .some(nil)
                    continue
                }
                if let holder = taken[address] {
                    plan.problems[key(service)] = "the requested address \(requested) is held by Service \(holder)"
                } else if let pool = pools.first(where: { $0.spec?.contains(address) == true }) {
                    give(address, in: pool, to: service)
                    continue
                } else {
                    plan.problems[key(service)] = "the requested address \(requested) is in no LoadBalancerPool that serves namespace \(namespace)"
                }
                plan.addresses[key(service)] = .some(nil)
                continue
            }
            let named = service.metadata.annotations?[LoadBalancerPool.poolAnnotation]
            let candidates = pools.filter { named != nil || $0.spec?.autoAssign != false }
            var given = false
            for pool in candidates where !given {
                for range in pool.spec?.ranges ?? [] where !given {
                    var address = range.lowerBound
                    while true {
                        if taken[address] == nil {
                            give(address, in: pool, to: service)
                            given = true
                            break
                        }
                        if address == range.upperBound { break }
                        address += 1
                    }
                }
            }
            if !given {
                plan.addresses[key(service)] = .some(nil)
                plan.problems[key(service)] = candidates.isEmpty
                    ? (named.map { "LoadBalancerPool \($0) does not exist or does not serve namespace \(namespace)" }
                        ?? "no LoadBalancerPool that assigns addresses automatically serves namespace \(namespace)")
                    : "every LoadBalancerPool serving namespace \(namespace) is full"
            }
        }
        return plan
    }
}
