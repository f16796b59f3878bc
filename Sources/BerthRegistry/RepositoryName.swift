import BerthCore

/// A repository `NAMESPACE/NAME[/…]`: its first component is the Kubernetes namespace that owns
/// it (its project, whose RBAC rules decide access), the rest its name within. Components follow
/// the distribution grammar (`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`), so a path can never hold `..`,
/// an empty component, or a component starting with `_` — the store's keys use `_` segments as
/// separators for exactly that reason.
public struct RepositoryName: Sendable, Hashable, CustomStringConvertible, Comparable {
    public let value: String

    public init(_ text: String) throws(BerthError) {
        guard text.utf8.count <= 255 else { throw .oci(.nameInvalid, "repository name \"\(text.prefix(64))…\" is longer than 255 characters") }
        let components = text.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count >= 2 else {
            throw .oci(.nameInvalid, "repository name \"\(text)\" must be NAMESPACE/NAME: the namespace owns the repository")
        }
        for component in components where !Self.isValidComponent(component) {
            throw .oci(.nameInvalid, "invalid repository name \"\(text)\": component \"\(component)\" must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*")
        }
        guard components[0].utf8.count <= 63, !components[0].contains("."), !components[0].contains("_") else {
            throw .oci(.nameInvalid, "invalid repository name \"\(text)\": \"\(components[0])\" is not a namespace name")
        }
        value = text
    }

    /// The namespace that owns the repository.
    public var namespace: String { String(value[..<value.firstIndex(of: "/")!]) }
    /// The repository within its namespace (RBAC `resourceNames` match it).
    public var name: String { String(value[value.index(after: value.firstIndex(of: "/")!)...]) }
    public var description: String { value }
    public static func < (lhs: RepositoryName, rhs: RepositoryName) -> Bool { lhs.value < rhs.value }

    static func isValidComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if isAlphanumeric(byte) { index += 1; continue }
            // A separator: ".", "_", "__" or a run of "-", always between alphanumerics.
            var end = index
            if byte == UInt8(ascii: "-") {
                while end < bytes.count, bytes[end] == UInt8(ascii: "-") { end += 1 }
            } else if byte == UInt8(ascii: ".") {
                end += 1
            } else if byte == UInt8(ascii: "_") {
                end += 1
                if end < bytes.count, bytes[end] == UInt8(ascii: "_") { end += 1 }
            } else {
                return false
            }
            guard end < bytes.count, isAlphanumeric(bytes[end]) else { return false }
            index = end
        }
        return true
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// A tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
public enum TagName {
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128, isWord(first) else { return false }
        return bytes.dropFirst().allSatisfy { isWord($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    static func isWord(_ byte: UInt8) -> Bool {
        RepositoryName.isAlphanumeric(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || byte == UInt8(ascii: "_")
    }
}
