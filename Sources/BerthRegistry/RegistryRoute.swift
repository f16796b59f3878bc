import BerthCore
import BerthImages

/// What a path under `/v2/` addresses. Parsed from the end, because a repository name may
/// itself hold `blobs` or `manifests` as a component (`team/blobs/manifests/v1` is the
/// manifest `v1` of `team/blobs`).
public enum RegistryRoute: Sendable, Equatable {
    case base
    case token
    case catalog
    case tags(RepositoryName)
    case manifest(RepositoryName, reference: String)
    case blob(RepositoryName, Digest)
    case startUpload(RepositoryName)
    case upload(RepositoryName, id: String)
    case referrers(RepositoryName, Digest)

    public static let prefix = "/v2/"

    public init(path: String) throws(BerthError) {
        guard path.hasPrefix("/v2") else { throw .oci(.nameUnknown, "not a registry path") }
        let rest = path.dropFirst(3)
        if rest.isEmpty || rest == "/" { self = .base; return }
        let trimmedEnd = rest.hasSuffix("/") ? rest.dropLast() : rest
        var segments = trimmedEnd.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if segments == ["token"] { self = .token; return }
        if segments == ["_catalog"] { self = .catalog; return }
        func name(dropping count: Int) throws(BerthError) -> RepositoryName {
            segments.removeLast(count)
            return try RepositoryName(segments.joined(separator: "/"))
        }
        func digest(_ text: String) throws(BerthError) -> Digest {
            do { return try Digest(parsing: text) } catch { throw .oci(.digestInvalid, "invalid digest \"\(text.prefix(80))\": \(error.message)") }
        }
        let count = segments.count
        guard count >= 3 else { throw .oci(.nameInvalid, "invalid registry path \(path.prefix(200))") }
        let last = segments[count - 1], kind = segments[count - 2]
        if kind == "tags", last == "list" {
            self = .tags(try name(dropping: 2))
        } else if kind == "blobs", last == "uploads" {
            self = .startUpload(try name(dropping: 2))
        } else if count >= 4, segments[count - 3] == "blobs", kind == "uploads" {
            guard !last.isEmpty, last.utf8.count <= 64, last.utf8.allSatisfy({ RepositoryName.isAlphanumeric($0) || $0 == UInt8(ascii: "-") }) else {
                throw .oci(.blobUploadUnknown, "invalid upload ID")
            }
            self = .upload(try name(dropping: 3), id: last)
        } else if kind == "manifests" {
            guard TagName.isValid(last) || last.contains(":") else { throw .oci(.manifestInvalid, "invalid tag or digest \"\(last.prefix(130))\"") }
            if last.contains(":") { _ = try digest(last) }
            self = .manifest(try name(dropping: 2), reference: last)
        } else if kind == "blobs" {
            self = .blob(try name(dropping: 2), try digest(last))
        } else if kind == "referrers" {
            self = .referrers(try name(dropping: 2), try digest(last))
        } else {
            throw .oci(.nameInvalid, "invalid registry path \(path.prefix(200))")
        }
    }

    /// The repository the request is about, if any.
    public var repository: RepositoryName? {
        switch self {
        case .base, .token, .catalog: nil
        case .tags(let name), .manifest(let name, _), .blob(let name, _), .startUpload(let name), .upload(let name, _), .referrers(let name, _): name
        }
    }
}

/// What a request does to a repository, as the Docker token scope names it; each is an RBAC
/// verb on `repositories` in `registry.berth.dev` (push: `create` or `update`).
public enum RepositoryAction: String, Sendable {
    case pull, push, delete
}
