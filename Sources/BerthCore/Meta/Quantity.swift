/// Kubernetes' `resource.Quantity`: `250m`, `1.5Gi`, `1e3`. Stored exactly in nano-units and
/// printed in Kubernetes' canonical form (`1.5Gi` → `1536Mi`, `0.5` → `500m`, `1000` → `1k`).
public struct Quantity: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public enum Format: Sendable, Hashable { case decimalSI, binarySI, decimalExponent }

    /// Value × 10⁹, rounded up, as Kubernetes rounds below nano precision.
    public private(set) var nanos: Int128
    public private(set) var format: Format

    static let billion: Int128 = 1_000_000_000
    static let decimalSuffixes: [(String, Int)] = [("n", -9), ("u", -6), ("m", -3), ("", 0), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18)]
    static let binarySuffixes: [(String, Int)] = [("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50), ("Ei", 60)]

    public init(nanos: Int128, format: Format = .decimalSI) {
        self.nanos = nanos
        self.format = format
    }

    public init(milli: Int64) { self.init(nanos: Int128(milli) * 1_000_000) }
    public init(integer: Int64, format: Format = .decimalSI) { self.init(nanos: Int128(integer) * Self.billion, format: format) }

    public init(parsing text: String) throws(BerthError) {
        guard let parsed = Self.parse(text) else {
            throw BerthError(.badRequest, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
        }
        self = parsed
    }

    public init(from decoder: any Decoder) throws {
        // One decode as a JSON value, not a chain of `try?` attempts: every failed attempt
        // builds and throws an error, which cost more than the parse itself.
        let text: String
        switch try decoder.singleValueContainer().decode(JSONValue.self) {
        case .string(let value), .number(let value): text = value
        default:
            throw DecodingError.typeMismatch(Quantity.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a quantity: a string or a number"))
        }
        guard let parsed = Self.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanos < rhs.nanos }
    public static func == (lhs: Quantity, rhs: Quantity) -> Bool { lhs.nanos == rhs.nanos }
    public func hash(into hasher: inout Hasher) { hasher.combine(nanos) }

    /// Milli-units rounded up (CPU).
    public var milliValue: Int64 { Int64(clamping: Self.divideRoundingUp(nanos, 1_000_000)) }
    /// Whole units rounded up (bytes, counts).
    public var value: Int64 { Int64(clamping: Self.divideRoundingUp(nanos, Self.billion)) }

    public static func + (lhs: Quantity, rhs: Quantity) -> Quantity { Quantity(nanos: lhs.nanos + rhs.nanos, format: lhs.format) }
    public static func - (lhs: Quantity, rhs: Quantity) -> Quantity { Quantity(nanos: lhs.nanos - rhs.nanos, format: lhs.format) }

    static func divideRoundingUp(_ value: Int128, _ divisor: Int128) -> Int128 {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder > 0 ? quotient + 1 : quotient
    }

    static func parse(_ text: String) -> Quantity? {
        if let common = parseCommon(text.utf8) { return common }
        return parseGeneral(text)
    }

    /// Digits, an optional fraction and a unit (`250m`, `1.5Gi`, `64Mi`, `2`) — the forms nearly
    /// every manifest uses — read straight from the bytes. Anything else (signs, exponents, long
    /// numbers, bad input) is left to `parseGeneral`, which has the final word.
    static func parseCommon(_ bytes: String.UTF8View) -> Quantity? {
        var digits: Int64 = 0
        var digitCount = 0
        var fractionDigits = 0
        var seenDot = false
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x30 && byte <= 0x39 {
                digitCount += 1
                if digitCount > 18 { return nil }
                digits = digits * 10 + Int64(byte - 0x30)
                if seenDot { fractionDigits += 1 }
            } else if byte == 0x2E && !seenDot {
                seenDot = true
            } else {
                break
            }
            index = bytes.index(after: index)
        }
        guard digitCount > 0 else { return nil }
        var decimalExponent = 0
        var binaryExponent = 0
        var format = Format.decimalSI
        let unit = bytes[index...]
        switch unit.count {
        case 0:
            break
        case 1:
            switch unit.first! {
            case UInt8(ascii: "n"): decimalExponent = -9
            case UInt8(ascii: "u"): decimalExponent = -6
            case UInt8(ascii: "m"): decimalExponent = -3
            case UInt8(ascii: "k"): decimalExponent = 3
            case UInt8(ascii: "M"): decimalExponent = 6
            case UInt8(ascii: "G"): decimalExponent = 9
            case UInt8(ascii: "T"): decimalExponent = 12
            case UInt8(ascii: "P"): decimalExponent = 15
            case UInt8(ascii: "E"): decimalExponent = 18
            default: return nil
            }
        case 2:
            guard unit.last == UInt8(ascii: "i") else { return nil }
            switch unit.first! {
            case UInt8(ascii: "K"): binaryExponent = 10
            case UInt8(ascii: "M"): binaryExponent = 20
            case UInt8(ascii: "G"): binaryExponent = 30
            case UInt8(ascii: "T"): binaryExponent = 40
            case UInt8(ascii: "P"): binaryExponent = 50
            case UInt8(ascii: "E"): binaryExponent = 60
            default: return nil
            }
            format = .binarySI
        default:
            return nil
        }
        guard let nanos = nanoUnits(Int128(digits), scale: 9 + decimalExponent - fractionDigits, binaryExponent: binaryExponent) else { return nil }
        return Quantity(nanos: nanos, format: format)
    }

    /// digits × 10^scale × 2^binaryExponent, rounded up below a nano-unit; nil when out of
    /// Kubernetes' range.
    static func nanoUnits(_ digits: Int128, scale: Int, binaryExponent: Int) -> Int128? {
        var nanos = digits
        var scale = scale
        var roundUp = false
        while scale > 0 {
            let (product, overflow) = nanos.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            nanos = product
            scale -= 1
        }
        while scale < 0 {
            if nanos % 10 != 0 { roundUp = true }
            nanos /= 10
            scale += 1
        }
        if roundUp { nanos += 1 }
        guard nanos <= Int128.max >> binaryExponent else { return nil }
        nanos <<= binaryExponent
        guard nanos < Int128(Int64.max) * billion else { return nil }
        return nanos
    }

    static func parseGeneral(_ text: String) -> Quantity? {
        var scalars = Substring(text)
        guard !scalars.isEmpty, scalars.count <= 64 else { return nil }
        var negative = false
        if scalars.first == "+" || scalars.first == "-" {
            negative = scalars.first == "-"
            scalars = scalars.dropFirst()
        }
        let numberEnd = scalars.firstIndex { !($0.isASCII && ($0.isNumber || $0 == ".")) } ?? scalars.endIndex
        let number = scalars[..<numberEnd]
        let suffix = String(scalars[numberEnd...])
        guard !number.isEmpty, number.filter({ $0 == "." }).count <= 1, number != "." else { return nil }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts[0].isEmpty ? "0" : String(parts[0])
        var fraction = parts.count > 1 ? String(parts[1]) : ""
        guard whole.count <= 30 else { return nil }

        var format = Format.decimalSI
        var decimalExponent = 0
        var binaryExponent = 0
        if let match = decimalSuffixes.first(where: { $0.0 == suffix }) {
            decimalExponent = match.1
        } else if let match = binarySuffixes.first(where: { $0.0 == suffix }) {
            binaryExponent = match.1
            format = .binarySI
        } else if let first = suffix.first, first == "e" || first == "E", let exponent = Int(suffix.dropFirst()), abs(exponent) <= 30 {
            decimalExponent = exponent
            format = .decimalExponent
        } else {
            return nil
        }
        // Work in nano-units: value = digits × 10^(9 + exponent - fractionDigits) × 2^binary.
        if fraction.count > 40 { fraction = String(fraction.prefix(40)) }
        guard let digits = Int128(whole + fraction) else { return nil }
        guard let nanos = nanoUnits(digits, scale: 9 + decimalExponent - fraction.count, binaryExponent: binaryExponent) else { return nil }
        return Quantity(nanos: negative ? -nanos : nanos, format: format)
    }

    public var description: String {
        if nanos == 0 { return "0" }
        let sign = nanos < 0 ? "-" : ""
        let magnitude = nanos < 0 ? -nanos : nanos
        if format == .binarySI, magnitude % Self.billion == 0, magnitude >= 1024 * Self.billion {
            var units = magnitude / Self.billion
            var suffixIndex = -1
            while units % 1024 == 0, suffixIndex < Self.binarySuffixes.count - 1 {
                units /= 1024
                suffixIndex += 1
            }
            if suffixIndex >= 0 { return "\(sign)\(units)\(Self.binarySuffixes[suffixIndex].0)" }
        }
        // Largest exponent (multiple of 3, from -9) that keeps the mantissa whole.
        var mantissa = magnitude
        var exponent = -9
        while mantissa % 1000 == 0, exponent < 18 {
            mantissa /= 1000
            exponent += 3
        }
        if format == .decimalExponent {
            return exponent == 0 ? "\(sign)\(mantissa)" : "\(sign)\(mantissa)e\(exponent)"
        }
        let suffix = Self.decimalSuffixes.first { $0.1 == exponent }?.0 ?? ""
        return "\(sign)\(mantissa)\(suffix)"
    }
}
