/// Kubernetes name and label syntax (`k8s.io/apimachinery/pkg/util/validation`).
/// Each check returns `nil` when valid, or the reason in Kubernetes' words.
public enum NameValidation {
    static func isAlphanumeric(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }
    static func isAlphanumericAnyCase(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }

    /// DNS-1123 label: lowercase alphanumerics and '-', at most 63, alphanumeric at both ends.
    public static func dns1123LabelProblem(_ name: String) -> String? {
        if name.count > 63 { return "must be no more than 63 characters" }
        let valid = !name.isEmpty && name.allSatisfy { isAlphanumeric($0) || $0 == "-" }
            && isAlphanumeric(name.first!) && isAlphanumeric(name.last!)
        if !valid {
            return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        }
        return nil
    }

    /// DNS-1123 subdomain: labels joined by '.', at most 253.
    public static func dns1123SubdomainProblem(_ name: String) -> String? {
        if name.count > 253 { return "must be no more than 253 characters" }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid = !name.isEmpty && labels.allSatisfy { label in
            !label.isEmpty && label.allSatisfy { isAlphanumeric($0) || $0 == "-" }
                && isAlphanumeric(label.first!) && isAlphanumeric(label.last!)
        }
        if !valid {
            return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        }
        return nil
    }

    /// A label or annotation key: optional DNS subdomain prefix, '/', then a name of at most 63.
    public static func qualifiedNameProblem(_ key: String) -> String? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        var name = Substring(key)
        if parts.count == 2 {
            if parts[0].isEmpty { return "prefix part must be non-empty" }
            if let problem = dns1123SubdomainProblem(String(parts[0])) { return "prefix part \(problem)" }
            name = parts[1]
        } else if parts.count > 2 {
            return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        }
        if name.isEmpty { return "name part must be non-empty" }
        if name.count > 63 { return "name part must be no more than 63 characters" }
        let valid = name.allSatisfy { isAlphanumericAnyCase($0) || "-_.".contains($0) }
            && isAlphanumericAnyCase(name.first!) && isAlphanumericAnyCase(name.last!)
        if !valid {
            return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        }
        return nil
    }

    /// A label value: empty, or at most 63 of alphanumerics, '-', '_', '.', alphanumeric ends.
    public static func labelValueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.count > 63 { return "must be no more than 63 characters" }
        let valid = value.allSatisfy { isAlphanumericAnyCase($0) || "-_.".contains($0) }
            && isAlphanumericAnyCase(value.first!) && isAlphanumericAnyCase(value.last!)
        if !valid {
            return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        }
        return nil
    }

    /// A C identifier-ish environment variable name, as Kubernetes allows (any printable but '=').
    public static func envVarNameProblem(_ name: String) -> String? {
        if name.isEmpty || name.contains("=") || !name.allSatisfy({ $0.isASCII && !$0.isWhitespace }) {
            return "a valid environment variable name must consist only of printable ASCII characters other than '='"
        }
        return nil
    }

    /// An IANA service name (port names): at most 15, lowercase alphanumerics and '-', a letter.
    public static func portNameProblem(_ name: String) -> String? {
        if name.count > 15 { return "must be no more than 15 characters" }
        if !name.allSatisfy({ isAlphanumeric($0) || $0 == "-" }) { return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)" }
        if name.contains("--") { return "must not contain consecutive hyphens" }
        if !name.contains(where: { $0.isLetter }) { return "must contain at least one letter (a-z)" }
        if name.hasPrefix("-") || name.hasSuffix("-") { return "must not begin or end with a hyphen" }
        return nil
    }
}
