/// Kubernetes name and label syntax (`k8s.io/apimachinery/pkg/util/validation`).
/// Each check returns `nil` when valid, or the reason in Kubernetes' words.
/// The checks work on UTF-8 bytes: lengths count bytes as Go's `len` does, and every write
/// runs them on every name, label and annotation key, where `Character` properties (Unicode
/// tables) cost more than the rest of validation together.
public enum NameValidation {
    static func isAlphanumeric(_ byte: UInt8) -> Bool { (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) }
    static func isAlphanumericAnyCase(_ byte: UInt8) -> Bool { isAlphanumeric(byte) || (byte >= 0x41 && byte <= 0x5A) }
    static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }
    static let dash = UInt8(ascii: "-")

    /// Every byte allowed, and alphanumeric (by `ends`) at both ends.
    static func shaped(_ bytes: some Collection<UInt8>, inner: (UInt8) -> Bool, ends: (UInt8) -> Bool) -> Bool {
        guard let first = bytes.first else { return false }
        var last = first
        for byte in bytes {
            guard inner(byte) else { return false }
            last = byte
        }
        return ends(first) && ends(last)
    }

    static func isLabelShaped(_ bytes: some Collection<UInt8>) -> Bool {
        shaped(bytes, inner: { isAlphanumeric($0) || $0 == dash }, ends: isAlphanumeric)
    }

    static func isQualifiedShaped(_ bytes: some Collection<UInt8>) -> Bool {
        shaped(bytes, inner: { isAlphanumericAnyCase($0) || $0 == dash || $0 == 0x5F || $0 == 0x2E }, ends: isAlphanumericAnyCase)
    }

    /// DNS-1123 label: lowercase alphanumerics and '-', at most 63, alphanumeric at both ends.
    public static func dns1123LabelProblem(_ name: String) -> String? {
        if name.utf8.count > 63 { return "must be no more than 63 characters" }
        if !isLabelShaped(name.utf8) {
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        }
        return nil
    }

    /// DNS-1123 subdomain: labels joined by '.', at most 253.
    public static func dns1123SubdomainProblem(_ name: String) -> String? {
        if name.utf8.count > 253 { return "must be no more than 253 characters" }
        let valid = !name.isEmpty && name.utf8.split(separator: 0x2E, omittingEmptySubsequences: false).allSatisfy(isLabelShaped)
        if !valid {
            return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        }
        return nil
    }

    /// A label or annotation key: optional DNS subdomain prefix, '/', then a name of at most 63.
    public static func qualifiedNameProblem(_ key: String) -> String? {
        let parts = key.utf8.split(separator: 0x2F, omittingEmptySubsequences: false)
        var name = Substring(key).utf8
        if parts.count == 2 {
            if parts[0].isEmpty { return "prefix part must be non-empty" }
            if let problem = dns1123SubdomainProblem(String(Substring(parts[0]))) { return "prefix part \(problem)" }
            name = parts[1]
        } else if parts.count > 2 {
            return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        }
        if name.isEmpty { return "name part must be non-empty" }
        if name.count > 63 { return "name part must be no more than 63 characters" }
        if !isQualifiedShaped(name) {
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        }
        return nil
    }

    /// A label value: empty, or at most 63 of alphanumerics, '-', '_', '.', alphanumeric ends.
    public static func labelValueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.utf8.count > 63 { return "must be no more than 63 characters" }
        if !isQualifiedShaped(value.utf8) {
            return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        }
        return nil
    }

    /// A C identifier-ish environment variable name, as Kubernetes allows (any printable but '=').
    public static func envVarNameProblem(_ name: String) -> String? {
        // Printable ASCII (0x21...0x7E) other than '='.
        if name.isEmpty || !name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x3D }) {
            return "a valid environment variable name must consist only of printable ASCII characters other than '='"
        }
        return nil
    }

    /// An IANA service name (port names): at most 15, lowercase alphanumerics and '-', a letter.
    public static func portNameProblem(_ name: String) -> String? {
        if name.utf8.count > 15 { return "must be no more than 15 characters" }
        if !name.utf8.allSatisfy({ isAlphanumeric($0) || $0 == dash }) { return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)" }
        if name.contains("--") { return "must not contain consecutive hyphens" }
        if !name.utf8.contains(where: isLetter) { return "must contain at least one letter (a-z)" }
        if name.hasPrefix("-") || name.hasSuffix("-") { return "must not begin or end with a hyphen" }
        return nil
    }
}
