import BerthCore
import BerthImages
import BerthRegistry
import HTTPTypes
import Hummingbird

/// Content discovery: tags with `n`/`last` paging (a `Link` header to the next page), the
/// catalog of the repositories the caller may pull, and referrers of a manifest.
extension APIServer {
    func tagList(_ request: Request, _ repository: RepositoryName, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        let query = QueryParameters(request.uri.query)
        let limit = try Self.pageSize(query)
        let last = query["last"]
        let page = limit == 0 ? ([], false) : try await registry.metadata.tags(in: repository, after: last, limit: limit ?? 0)
        if page.0.isEmpty, last == nil, try await !registry.metadata.hasRepository(repository) {
            throw BerthError.oci(.nameUnknown, "repository \(repository) not found")
        }
        var fields: HTTPFields = [:]
        if page.1, let limit, let final = page.0.last {
            fields[RegistryResponses.link] = "</v2/\(repository)/tags/list?n=\(limit)&last=\(final)>; rel=\"next\""
        }
        return RegistryResponses.json(["name": .string(repository.value), "tags": .array(page.0.map { .string($0) })], fields)
    }

    func catalog(_ request: Request, _ registry: ImageRegistry, user: UserInfo) async throws(BerthError) -> Response {
        if user.isAnonymous { throw RegistryChallenge.error(scope: "registry:catalog:*", message: "authentication required") }
        let query = QueryParameters(request.uri.query)
        let limit = try Self.pageSize(query) ?? 0
        var cursor = query["last"]
        var names: [String] = []
        var more = false
        // Filtered to what the caller may pull: read pages until one is full or none are left.
        while limit == 0 || names.count < limit {
            let page = try await registry.metadata.repositories(after: cursor, limit: 500)
            for name in page.names {
                cursor = name
                guard let repository = try? RepositoryName(name), try await mayAccess(repository, .pull, user: user) else { continue }
                if limit > 0, names.count == limit { more = true; break }
                names.append(name)
            }
            if more || !page.more { break }
        }
        if !more, limit > 0, names.count == limit, let final = names.last {
            more = try await registry.metadata.repositories(after: final, limit: 1).names.isEmpty == false
        }
        var fields: HTTPFields = [:]
        if more, let final = names.last { fields[RegistryResponses.link] = "</v2/_catalog?n=\(limit)&last=\(final)>; rel=\"next\"" }
        return RegistryResponses.json(["repositories": .array(names.map { .string($0) })], fields)
    }

    func referrers(_ request: Request, _ repository: RepositoryName, _ digest: Digest, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        let artifactType = QueryParameters(request.uri.query)["artifactType"]
        let entries = try await registry.metadata.referrers(of: digest, in: repository, artifactType: artifactType)
        var fields: HTTPFields = [:]
        if artifactType != nil { fields[RegistryResponses.ociFiltersApplied] = "artifactType" }
        let index: JSONValue = ["schemaVersion": 2, "mediaType": .string(MediaType.ociIndex), "manifests": .array(entries)]
        var response = RegistryResponses.json(index, fields)
        response.headers[.contentType] = MediaType.ociIndex
        return response
    }

    static func pageSize(_ query: QueryParameters) throws(BerthError) -> Int? {
        guard let text = query["n"] else { return nil }
        guard let number = Int(text), number >= 0 else { throw BerthError.oci(.unsupported, "n must be a non-negative integer", status: .badRequest) }
        return min(number, 10_000)
    }
}
