import BerthCore

/// An image reference as Docker and Kubernetes read it: `nginx` is
/// `docker.io/library/nginx:latest`; a first component with a dot, a colon or `localhost` is a
/// registry host (`127.0.0.1:5000/app:v1`); `@sha256:…` pins a digest.
public struct ImageReference: Hashable, Sendable, CustomStringConvertible {
    public var registry: String
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public static let defaultRegistry = "docker.io"

    public init(parsing text: String) throws(BerthError) {
        guard !text.isEmpty, text.count <= 4096 else { throw BerthError(.badRequest, "invalid image reference \"\(text)\": empty or too long") }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[rest.index(after: colon)...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry = Self.defaultRegistry
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" {
            registry = first
            components.removeFirst()
        }
        if registry == Self.defaultRegistry && components.count == 1 { components.insert("library", at: 0) }
        let repository = components.joined(separator: "/")
        try Self.check(repository: repository, tag: tag, in: text)
        if tag == nil && digest == nil { tag = "latest" }
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    private static func check(repository: String, tag: String?, in text: String) throws(BerthError) {
        let componentOK: (Substring) -> Bool = { component in
            guard let first = component.utf8.first, let last = component.utf8.last,
                  Self.isLowerAlnum(first), Self.isLowerAlnum(last) else { return false }
            return component.utf8.allSatisfy { Self.isLowerAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
        }
        guard !repository.isEmpty, repository.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(componentOK) else {
            throw BerthError(.badRequest, "invalid image reference \"\(text)\": repository must be lowercase letters, digits and separators")
        }
        if let tag {
            let ok = !tag.isEmpty && tag.utf8.count <= 128 && tag.utf8.allSatisfy {
                Self.isLowerAlnum($0) || ($0 >= 65 && $0 <= 90) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
            guard ok, tag.first != ".", tag.first != "-" else { throw BerthError(.badRequest, "invalid image reference \"\(text)\": bad tag \"\(tag)\"") }
        }
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool { (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) }

    /// `registry/repository`, the name images are listed under.
    public var name: String { "\(registry)/\(repository)" }

    /// Tag or digest, whichever the registry is asked for (digest wins).
    public var reference: String { digest?.description ?? tag ?? "latest" }

    public var description: String {
        var text = name
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }
}
