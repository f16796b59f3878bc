/// Prometheus' exposition formats: the text format 0.0.4 (what every scraper reads) and
/// OpenMetrics 1.0.0 (when the scraper's `Accept` asks for it).
public enum ExpositionFormat: Sendable, Equatable {
    case text
    case openMetrics

    /// Picks the format an `Accept` header asks for: OpenMetrics only when it is named.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept, accept.contains("application/openmetrics-text") else { return .text }
        return .openMetrics
    }

    public var contentType: String {
        switch self {
        case .text: return "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: return "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }
}

public enum MetricType: String, Sendable {
    case counter, gauge, histogram, untyped
}

/// Writes metric families straight into bytes: a family's header, then its samples, with
/// names and label values escaped so nothing a user names (a pod, a label, a metric from an
/// adapter) can break a line. Rendering 30,000 pods' state is a loop of appends, no
/// intermediate objects.
public struct ExpositionWriter: Sendable {
    public let format: ExpositionFormat
    public private(set) var bytes: [UInt8] = []

    public init(format: ExpositionFormat, reserving capacity: Int = 0) {
        self.format = format
        bytes.reserveCapacity(capacity)
    }

    /// `# HELP` and `# TYPE` of a family. In OpenMetrics a counter family is named without
    /// its `_total` suffix, which its samples keep.
    public mutating func family(_ name: String, _ type: MetricType, help: String) {
        var familyName = name
        if format == .openMetrics, type == .counter, name.hasSuffix("_total") { familyName = String(name.dropLast(6)) }
        append("# HELP ")
        append(familyName)
        bytes.append(0x20)
        appendEscaped(help, quotes: false)
        append("\n# TYPE ")
        append(familyName)
        bytes.append(0x20)
        append(format == .openMetrics && type == .untyped ? "unknown" : type.rawValue)
        bytes.append(0x0A)
    }

    /// One sample line: `name{label="value",…} value`.
    public mutating func sample(_ name: String, _ labels: KeyValuePairs<String, String> = [:], _ value: Double) {
        append(name)
        if !labels.isEmpty {
            bytes.append(0x7B)
            var first = true
            for (key, labelValue) in labels {
                if !first { bytes.append(0x2C) }
                first = false
                append(key)
                append("=\"")
                appendEscaped(labelValue, quotes: true)
                bytes.append(0x22)
            }
            bytes.append(0x7D)
        }
        bytes.append(0x20)
        appendValue(value)
        bytes.append(0x0A)
    }

    /// A sample whose labels are only known at run time (names already checked).
    public mutating func sample(_ name: String, labels: [(String, String)], _ value: Double) {
        append(name)
        if !labels.isEmpty {
            bytes.append(0x7B)
            for (index, label) in labels.enumerated() {
                if index > 0 { bytes.append(0x2C) }
                append(label.0)
                append("=\"")
                appendEscaped(label.1, quotes: true)
                bytes.append(0x22)
            }
            bytes.append(0x7D)
        }
        bytes.append(0x20)
        appendValue(value)
        bytes.append(0x0A)
    }

    /// Ends the exposition (OpenMetrics requires `# EOF`).
    public mutating func finish() {
        if format == .openMetrics { append("# EOF\n") }
    }

    public mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Label values escape `\`, `"` and newlines; HELP text escapes `\` and newlines.
    mutating func appendEscaped(_ text: String, quotes: Bool) {
        var text = text
        text.withUTF8 { utf8 in
            for byte in utf8 {
                switch byte {
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                case 0x22 where quotes: bytes.append(0x5C); bytes.append(0x22)
                default: bytes.append(byte)
                }
            }
        }
    }

    mutating func appendValue(_ value: Double) {
        if value.isNaN { return append("NaN") }
        if value.isInfinite { return append(value > 0 ? "+Inf" : "-Inf") }
        if value == value.rounded(), abs(value) < 1e15 {
            return append(String(Int64(value)))
        }
        append(String(value))
    }
}

/// Names from users (metric names an adapter exposes, label keys) made safe for the formats:
/// anything outside the allowed characters becomes `_`, a leading digit gets a `_` in front.
public enum MetricName {
    public static func sanitized(_ name: String, allowColon: Bool = true) -> String {
        var result = ""
        for (index, scalar) in name.unicodeScalars.enumerated() {
            let isLetter = (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || scalar == "_" || (allowColon && scalar == ":")
            let isDigit = scalar >= "0" && scalar <= "9"
            if isLetter || (isDigit && index > 0) {
                result.unicodeScalars.append(scalar)
            } else if isDigit {
                result += "_"
                result.unicodeScalars.append(scalar)
            } else {
                result += "_"
            }
        }
        return result.isEmpty ? "_" : result
    }

    /// A Kubernetes label key as kube-state-metrics spells it: `label_app_kubernetes_io_name`.
    public static func labelKey(_ key: String) -> String { "label_" + sanitized(key, allowColon: false) }

    public static func isValid(_ name: String) -> Bool { !name.isEmpty && sanitized(name) == name }
}
