import BerthCore
import Foundation

/// Server time, injectable so tests can pin timestamps.
public struct ServerClock: Sendable {
    public var now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date = { Date() }) { self.now = now }

    public func timestamp() -> String { TableCells.formatTimestamp(now()) }
}
