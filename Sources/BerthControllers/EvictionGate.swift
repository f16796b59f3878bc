import Foundation

/// Whether the pods of lost nodes may be evicted, zone by zone, as Kubernetes' node lifecycle
/// controller decides. When every node of every zone stops renewing at once, the likelier cause
/// is the control plane's own network (or one agent process carrying many simulated nodes),
/// not a thousand hosts dying together: evicting then only deletes pods that are still running
/// and piles their replacements up Pending with nowhere to go. Measured with 1,000 simulated
/// nodes carrying 30,000 pods, killed for 45 s and brought back: 15,538 pods were evicted, the
/// lost nodes' recoveries waited behind the evictions, and all pods ran again only after 250 s.
/// Pure: the caller passes the counts and the time.
public struct EvictionGate: Sendable {
    /// Kubernetes' defaults (`--unhealthy-zone-threshold`, `--large-cluster-size-threshold`,
    /// `--secondary-node-eviction-rate`).
    public static let unhealthyZoneThreshold = 0.55
    public static let largeClusterThreshold = 50
    public static let secondaryInterval: Duration = .seconds(100)

    public enum ZoneState: Sendable, Equatable {
        case normal
        /// More than two nodes and at least 55 % of the zone lost.
        case partialDisruption
        /// Every node of the zone lost.
        case fullDisruption
    }

    private var lastSecondaryEviction: [String: ContinuousClock.Instant] = [:]

    public init() {}

    public static func state(lost: Int, total: Int) -> ZoneState {
        guard total > 0, lost > 0 else { return .normal }
        if lost >= total { return .fullDisruption }
        if lost > 2, Double(lost) / Double(total) >= unhealthyZoneThreshold { return .partialDisruption }
        return .normal
    }

    /// The zones (by `topology.kubernetes.io/zone`, "" for none) whose lost nodes may have their
    /// pods evicted now: all of a normal zone; none anywhere when every zone is fully disrupted;
    /// a fully disrupted zone among healthy ones at once (it really went away); in a partially
    /// disrupted zone of a large cluster one node per 100 s, in a small cluster none.
    public mutating func zonesThatMayEvict(lostByZone: [String: Int], totalByZone: [String: Int], now: ContinuousClock.Instant) -> Set<String> {
        var states: [String: ZoneState] = [:]
        for (zone, total) in totalByZone { states[zone] = Self.state(lost: lostByZone[zone] ?? 0, total: total) }
        if !states.isEmpty, states.values.allSatisfy({ $0 == .fullDisruption }) { return [] }
        let clusterSize = totalByZone.values.reduce(0, +)
        var allowed: Set<String> = []
        for (zone, state) in states {
            switch state {
            case .normal, .fullDisruption:
                allowed.insert(zone)
            case .partialDisruption:
                guard clusterSize > Self.largeClusterThreshold else { continue }
                if let last = lastSecondaryEviction[zone], now - last < Self.secondaryInterval { continue }
                allowed.insert(zone)
            }
        }
        return allowed
    }

    /// Nodes whose pods were evicted during their current outage.
    private var evicted: Set<String> = []

    /// Whether a lost node of a zone `zonesThatMayEvict` allowed is evicted in this check. In a
    /// partially disrupted zone the node takes the zone's one slot per interval (and `allowed`
    /// loses the zone), unless its pods were evicted already: the slot goes to the next node, not
    /// to the same emptied one every 100 s. A normal zone's lost nodes are swept on every check.
    public mutating func shouldEvict(node: String, zone: String, state: ZoneState, allowed: inout Set<String>, now: ContinuousClock.Instant) -> Bool {
        guard allowed.contains(zone) else { return false }
        if state == .partialDisruption {
            if evicted.contains(node) { return false }
            allowed.remove(zone)
            lastSecondaryEviction[zone] = now
        }
        evicted.insert(node)
        return true
    }

    /// Forgets the evictions of nodes that are no longer lost (back, or gone).
    public mutating func keepEvictions(of lost: Set<String>) {
        evicted.formIntersection(lost)
    }
}
