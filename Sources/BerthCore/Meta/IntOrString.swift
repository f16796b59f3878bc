/// `intstr.IntOrString`: ports and surge values may be a number or a name/percentage.
public enum IntOrString: Codable, Sendable, Hashable, CustomStringConvertible {
    case int(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self = .int(number)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        }
    }

    public var description: String {
        switch self {
        case .int(let number): String(number)
        case .string(let text): text
        }
    }

    /// Resolves a percentage against a total, rounding up or down as Kubernetes does.
    public func scaled(total: Int, roundUp: Bool) -> Int? {
        switch self {
        case .int(let number): return number
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()) else { return nil }
            let exact = Double(percent) * Double(total) / 100
            return Int(roundUp ? exact.rounded(.up) : exact.rounded(.down))
        }
    }
}
