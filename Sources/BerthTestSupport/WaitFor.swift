import BerthCore
import Foundation

/// Polls `probe` until it returns a value, failing after `timeout` seconds.
public func waitFor<T>(_ what: String, timeout: Double, _ probe: () async throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    var lastError: (any Error)?
    while Date() < deadline {
        do {
            if let value = try await probe() { return value }
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(250))
    }
    throw BerthError(.timeout, "\(what): not reached in \(timeout) s\(lastError.map { " (last error: \($0))" } ?? "")")
}
