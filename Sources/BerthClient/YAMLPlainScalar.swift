import BerthCore

/// What an unquoted YAML scalar means, by the YAML 1.1 rules Kubernetes' YAML reader applies:
/// `~`/`null` and the empty scalar are null; `true`, `yes`, `on`… are booleans; integers in
/// decimal, `0x` hex, `0b` binary and `0`/`0o` octal (so `defaultMode: 0644` is 420), with `_`
/// separators; floats including `.inf` and `.nan`; everything else is a string.
///
/// Yams' default resolver decides the same with regular expressions, which on Linux go through
/// ICU: just loading a kubeconfig kept about 3 MB of ICU resident in every agent.
enum YAMLPlainScalar {
    static let nulls: Set<String> = ["~", "null", "Null", "NULL", ""]
    static let trues: Set<String> = ["yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"]
    static let falses: Set<String> = ["no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"]

    static func resolve(_ text: String) -> JSONValue {
        if nulls.contains(text) { return .null }
        if trues.contains(text) { return .bool(true) }
        if falses.contains(text) { return .bool(false) }
        if let integer = integer(text) { return .number(String(integer)) }
        if let value = float(text) {
            guard value.isFinite else { return .string(text) } // JSON has no infinities
            return .number(value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value))
        }
        return .string(text)
    }

    static func integer(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)
        var negative = false
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            negative = first == UInt8(ascii: "-")
            bytes.removeFirst()
        }
        guard let first = bytes.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { return nil }
        var radix: Int64 = 10
        var digits = bytes[...]
        if first == UInt8(ascii: "0"), bytes.count > 1 {
            switch bytes[1] {
            case UInt8(ascii: "x"): radix = 16; digits = bytes[2...]
            case UInt8(ascii: "b"): radix = 2; digits = bytes[2...]
            case UInt8(ascii: "o"): radix = 8; digits = bytes[2...]
            default: radix = 8; digits = bytes[1...]
            }
        }
        var value: Int64 = 0
        var sawDigit = false
        for byte in digits {
            if byte == UInt8(ascii: "_") {
                // A decimal number starts with its digit; only prefixed forms may start with `_`.
                if radix == 10 && !sawDigit { return nil }
                continue
            }
            guard let digit = digitValue(byte), digit < radix else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            let (sum, overflowAdd) = shifted.addingReportingOverflow(digit)
            guard !overflow, !overflowAdd else { return nil }
            value = sum
            sawDigit = true
        }
        guard sawDigit else { return nil }
        return negative ? -value : value
    }

    static func digitValue(_ byte: UInt8) -> Int64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int64(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int64(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int64(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// `[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?`, `\.[0-9_]+([eE][-+]?[0-9]+)?`,
    /// `[-+]?.inf` and `.nan` in their three spellings.
    static func float(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default: break
        }
        var bytes = Array(text.utf8)[...]
        var cleaned: [UInt8] = []
        if let first = bytes.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            cleaned.append(first)
            bytes = bytes.dropFirst()
        }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        var integerDigits = 0
        if let first = bytes.first, isDigit(first) {
            while let byte = bytes.first, isDigit(byte) || byte == UInt8(ascii: "_") {
                if byte != UInt8(ascii: "_") { cleaned.append(byte); integerDigits += 1 }
                bytes = bytes.dropFirst()
            }
        }
        var fractionDigits = 0
        if bytes.first == UInt8(ascii: ".") {
            cleaned.append(UInt8(ascii: "."))
            bytes = bytes.dropFirst()
            while let byte = bytes.first, isDigit(byte) || byte == UInt8(ascii: "_") {
                if byte != UInt8(ascii: "_") { cleaned.append(byte); fractionDigits += 1 }
                bytes = bytes.dropFirst()
            }
            if integerDigits == 0 && fractionDigits == 0 { return nil }
            if fractionDigits == 0 { cleaned.append(UInt8(ascii: "0")) }
        }
        guard integerDigits + fractionDigits > 0 else { return nil }
        if let byte = bytes.first, byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            cleaned.append(UInt8(ascii: "e"))
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
                cleaned.append(sign)
                bytes = bytes.dropFirst()
            }
            guard let digit = bytes.first, isDigit(digit) else { return nil }
            while let byte = bytes.first, isDigit(byte) {
                cleaned.append(byte)
                bytes = bytes.dropFirst()
            }
        }
        guard bytes.isEmpty else { return nil }
        if integerDigits == 0 { cleaned.insert(UInt8(ascii: "0"), at: cleaned.first == UInt8(ascii: "-") || cleaned.first == UInt8(ascii: "+") ? 1 : 0) }
        return Double(String(decoding: cleaned, as: UTF8.self))
    }
}
