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

    /// A node of a partially disrupted zone was evicted: the next waits the secondary interval.
    public mutating func recordEviction(zone: String, state: ZoneState, now: ContinuousClock.Instant) {
        if state == .partialDisruption { lastSecondaryEviction[zone] = now }
    }
}
