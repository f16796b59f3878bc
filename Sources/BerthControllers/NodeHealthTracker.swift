import Foundation

/// Decides node health from Lease renewals as this controller observed them. It measures with
/// its own clock from the moment it saw a renewal change, not from `renewTime`, so clock skew
/// between hosts cannot make a node look dead or alive. Pure: callers pass the time.
public struct NodeHealthTracker: Sendable {
    public var grace: Duration
    public var evictionTimeout: Duration
    private var lastRenewal: [String: (renewTime: String, seenAt: ContinuousClock.Instant)] = [:]
    private var unhealthySince: [String: ContinuousClock.Instant] = [:]

    public enum Verdict: Sendable, Equatable {
        case healthy
        /// Lease not renewed for longer than the grace: mark the node NotReady and taint it.
        case lost
        /// Lost for longer than the eviction timeout: its pods are to be replaced elsewhere.
        case evict
        /// Renewing again after being lost: lift the taints.
        case recovered
    }

    public init(grace: Duration, evictionTimeout: Duration) {
        self.grace = grace
        self.evictionTimeout = evictionTimeout
    }

    /// Records the lease's `renewTime` as seen now; a value seen before changes nothing.
    public mutating func observe(node: String, renewTime: String?, now: ContinuousClock.Instant) {
        let renewTime = renewTime ?? ""
        if let previous = lastRenewal[node], previous.renewTime == renewTime { return }
        lastRenewal[node] = (renewTime, now)
    }

    /// A node with no lease yet counts from the first time it is judged.
    public mutating func judge(node: String, markedLost: Bool, now: ContinuousClock.Instant) -> Verdict {
        let seen = lastRenewal[node]?.seenAt ?? {
            lastRenewal[node] = ("", now)
            return now
        }()
        if now - seen <= grace {
            unhealthySince[node] = nil
            return markedLost ? .recovered : .healthy
        }
        let since = unhealthySince[node] ?? {
            unhealthySince[node] = now
            return now
        }()
        return now - since >= evictionTimeout ? .evict : .lost
    }

    /// Not renewed within the grace, without changing any state.
    public func isLost(node: String, now: ContinuousClock.Instant) -> Bool {
        guard let seen = lastRenewal[node]?.seenAt else { return false }
        return now - seen > grace
    }

    public mutating func forget(node: String) {
        lastRenewal[node] = nil
        unhealthySince[node] = nil
    }
}
