import BerthCore
import HTTPTypes
import Synchronization

/// Caps the requests served at once, as kube-apiserver's `--max-requests-inflight` (400) and
/// `--max-mutating-requests-inflight` (200) do: past the cap a client gets 429 with
/// `Retry-After` at once instead of a queue that grows until memory or descriptors run out.
/// Long-running requests (watches, followed logs, exec, attach, port-forward, proxy) are not
/// counted: they are bounded by the connection cap instead.
final class InflightLimit: Sendable {
    let maximumReadOnly: Int
    let maximumMutating: Int
    private let readOnly = Atomic<Int>(0)
    private let mutating = Atomic<Int>(0)

    init(maximumReadOnly: Int, maximumMutating: Int) {
        self.maximumReadOnly = maximumReadOnly
        self.maximumMutating = maximumMutating
    }

    /// Which counter a request took, to give back with `leave` when it is served.
    enum Slot: Sendable {
        case readOnly, mutating
    }

    /// Counts the request in, or returns nil when it is not counted; throws 429 when the cap
    /// is reached.
    func enter(_ method: HTTPRequest.Method, path: String, query: String?) throws(BerthError) -> Slot? {
        if Self.isLongRunning(method, path: path, query: query) { return nil }
        let slot: Slot = method == .get || method == .head || method == .options ? .readOnly : .mutating
        if take(slot) { return slot }
        var error = BerthError(.tooManyRequests, "too many requests, please try again later")
        var details = StatusDetails()
        details.retryAfterSeconds = 1
        error.details = details
        throw error
    }

    private func take(_ slot: Slot) -> Bool {
        switch slot {
        case .readOnly:
            if readOnly.wrappingAdd(1, ordering: .relaxed).newValue <= maximumReadOnly { return true }
            readOnly.wrappingSubtract(1, ordering: .relaxed)
        case .mutating:
            if mutating.wrappingAdd(1, ordering: .relaxed).newValue <= maximumMutating { return true }
            mutating.wrappingSubtract(1, ordering: .relaxed)
        }
        return false
    }

    /// Requests counted in now (`apiserver_current_inflight_requests`).
    var current: (readOnly: Int, mutating: Int) { (readOnly.load(ordering: .relaxed), mutating.load(ordering: .relaxed)) }

    func leave(_ slot: Slot) {
        switch slot {
        case .readOnly: readOnly.wrappingSubtract(1, ordering: .relaxed)
        case .mutating: mutating.wrappingSubtract(1, ordering: .relaxed)
        }
    }

    static func isLongRunning(_ method: HTTPRequest.Method, path: String, query: String?) -> Bool {
        if path.hasSuffix("/exec") || path.hasSuffix("/attach") || path.hasSuffix("/portforward") { return true }
        // `/watch/` and `/proxy` as path segments of their own (a namespace may be called "proxy").
        let segments = path.split(separator: "/")
        if segments.count > 3, (segments[0] == "api" && segments[2] == "watch") || (segments[0] == "apis" && segments[3] == "watch") { return true }
        if let proxy = segments.firstIndex(of: "proxy"), proxy >= 2, ["nodes", "pods", "services"].contains(segments[proxy - 2]) { return true }
        guard let query, method == .get else { return false }
        let items = query.split(separator: "&")
        if items.contains("watch=true") || items.contains("watch=1") { return true }
        return path.hasSuffix("/log") && (items.contains("follow=true") || items.contains("follow=1"))
    }
}
