import BerthCore

/// The per-Ingress settings users expect from an ingress controller, as `berth.dev/…`
/// annotations (the names follow ingress-nginx's, under Berth's prefix):
///
/// | annotation | effect |
/// |---|---|
/// | `berth.dev/rewrite-target: /new` | the matched path prefix is replaced (`/api/x` → `/new/x`) |
/// | `berth.dev/ssl-redirect: "true"` | plain HTTP answered with a 308 to HTTPS |
/// | `berth.dev/whitelist-source-range: CIDR,…` | other client addresses get 403 |
/// | `berth.dev/limit-rps: N` | more than N requests a second from one client address get 429 |
/// | `berth.dev/proxy-body-size: 1m` | a larger declared request body gets 413 |
/// | `berth.dev/proxy-connect-timeout`, `berth.dev/proxy-read-timeout: 30s` | the backend's timeouts |
/// | `berth.dev/affinity: cookie`, `berth.dev/session-cookie-name: NAME` | sticky sessions by cookie |
public struct IngressAnnotations: Equatable, Hashable, Sendable {
    public var route = RouteOptions()
    public var backend = BackendOptions()

    public struct RouteOptions: Equatable, Hashable, Sendable {
        public var rewriteTarget: String?
        public var sslRedirect = false
        public var sourceRanges: [String] = []
        public var requestsPerSecond: Int?
        public var bodySizeLimit: Int64?
        public init() {}
    }

    public struct BackendOptions: Equatable, Hashable, Sendable {
        public var connectTimeout: String?
        public var readTimeout: String?
        public var cookie: String?
        public init() {}
        var isDefault: Bool { self == BackendOptions() }
    }

    public static let prefix = "berth.dev/"

    /// Reads the annotations; a value that cannot be honoured is a problem (and ignored).
    public static func parse(_ annotations: [String: String]) -> (IngressAnnotations, [String]) {
        var result = IngressAnnotations()
        var problems: [String] = []
        func value(_ name: String) -> String? { annotations[prefix + name]?.trimmingCharacters(in: .whitespaces) }
        if let target = value("rewrite-target") {
            if target.hasPrefix("/"), target.allSatisfy({ $0.isASCII && !$0.isWhitespace && !"\\\"#%".contains($0) }) {
                result.route.rewriteTarget = target
            } else {
                problems.append("berth.dev/rewrite-target \"\(target)\" must be an absolute path without spaces, quotes, '#', '%' or '\\'")
            }
        }
        if let redirect = value("ssl-redirect") {
            if let flag = Bool(redirect.lowercased()) { result.route.sslRedirect = flag } else { problems.append("berth.dev/ssl-redirect must be true or false") }
        }
        if let ranges = value("whitelist-source-range") {
            let parts = ranges.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let bad = parts.filter { !isCIDR($0) }
            if bad.isEmpty, !parts.isEmpty { result.route.sourceRanges = parts } else { problems.append("berth.dev/whitelist-source-range: not IPv4 CIDRs: \(bad.joined(separator: ","))") }
        }
        if let rate = value("limit-rps") {
            if let number = Int(rate), (1...1_000_000).contains(number) { result.route.requestsPerSecond = number } else { problems.append("berth.dev/limit-rps must be a number from 1 to 1000000") }
        }
        if let size = value("proxy-body-size") {
            if let bytes = byteSize(size) { result.route.bodySizeLimit = bytes } else { problems.append("berth.dev/proxy-body-size \"\(size)\" is not a size such as 512k or 8m") }
        }
        for (name, keyPath) in [("proxy-connect-timeout", \BackendOptions.connectTimeout), ("proxy-read-timeout", \BackendOptions.readTimeout)] {
            guard let text = value(name) else { continue }
            if let duration = duration(text) { result.backend[keyPath: keyPath] = duration } else { problems.append("berth.dev/\(name) \"\(text)\" is not a duration such as 5s or 2m") }
        }
        if let affinity = value("affinity") {
            if affinity == "cookie" {
                let name = value("session-cookie-name") ?? "BERTHROUTE"
                if !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_-".contains($0)) }) {
                    result.backend.cookie = name
                } else {
                    problems.append("berth.dev/session-cookie-name \"\(name)\" must be letters, digits, '_' or '-'")
                }
            } else {
                problems.append("berth.dev/affinity supports only \"cookie\"")
            }
        }
        return (result, problems)
    }

    static func isCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, IPv4.isValid(String(parts[0])) else { return false }
        return parts.count == 1 || Int(parts[1]).map { (0...32).contains($0) } == true
    }

    /// `30`, `30s`, `500ms`, `2m`, `1h` → HAProxy's form (a bare number is seconds).
    static func duration(_ text: String) -> String? {
        let units = ["ms", "s", "m", "h"]
        let unit = units.first { text.hasSuffix($0) && Int(text.dropLast($0.count)) != nil }
        let number = unit.map { String(text.dropLast($0.count)) } ?? text
        guard let value = Int(number), value > 0, value <= 86_400_000 else { return nil }
        return "\(value)\(unit ?? "s")"
    }

    /// `1024`, `512k`, `8m`, `1g` → bytes.
    static func byteSize(_ text: String) -> Int64? {
        let scales: [Character: Int64] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        let last = text.last.map { Character($0.lowercased()) }
        let scale = last.flatMap { scales[$0] }
        guard let number = Int64(scale == nil ? text : String(text.dropLast())), number >= 0 else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: scale ?? 1)
        return overflow ? nil : bytes
    }
}
