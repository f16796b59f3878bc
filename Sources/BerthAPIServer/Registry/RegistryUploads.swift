import BerthCore
import BerthImages
import BerthRegistry
import HTTPTypes
import Hummingbird
import NIOCore

/// Pushing blobs: `POST /v2/NAME/blobs/uploads/` starts a session (or, with `?digest=`,
/// uploads in one request; with `?mount=DIGEST&from=OTHER`, takes a blob the caller may pull
/// from another repository without sending it); `PATCH` appends a chunk (`Content-Range:
/// START-END`, START where the session's bytes end); `PUT ?digest=` ends it, with a last chunk
/// or none; `GET` says how far it got (resuming after a broken connection); `DELETE` cancels.
extension APIServer {
    func startUpload(_ request: Request, _ repository: RepositoryName, _ registry: ImageRegistry, user: UserInfo) async throws(BerthError) -> Response {
        let query = QueryParameters(request.uri.query)
        if let mount = query["mount"] {
            let digest: Digest
            do { digest = try Digest(parsing: mount) } catch { throw BerthError.oci(.digestInvalid, "mount: \(error.message)") }
            if let from = query["from"], let source = try? RepositoryName(from),
               try await mayAccess(source, .pull, user: user),
               let link = try await registry.metadata.link(digest, in: source), registry.storage.content.contains(digest) {
                try await linkBlob(digest, size: link.size, into: repository, registry)
                return Self.blobCreated(repository, digest)
            }
            // Not mountable: an ordinary upload session, as the specification says.
        }
        let id = try registry.storage.createUpload()
        do {
            try await registry.metadata.startUpload(id, UploadRecord(repository: repository.value, started: clock.timestamp()))
        } catch {
            registry.storage.cancel(id)
            throw error
        }
        if let digestText = query["digest"] {
            var body = request
            let digest = try Self.parseDigest(digestText)
            try await appendBody(&body, to: id, at: 0, registry)
            return try await finishUpload(id, repository, digest, registry)
        }
        return Self.uploadAccepted(repository, id, size: 0)
    }

    func continueUpload(_ request: Request, _ repository: RepositoryName, _ id: String, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        guard let session = try await registry.metadata.upload(id), session.repository == repository.value,
              let size = registry.storage.uploadSize(id) else {
            throw BerthError.oci(.blobUploadUnknown, "upload \(id) not found in \(repository)")
        }
        var body = request
        switch request.method {
        case .get:
            return Self.uploadAccepted(repository, id, size: size, status: .noContent)
        case .patch:
            let start = try Self.chunkStart(request, size: size)
            let end = try await appendBody(&body, to: id, at: start, registry)
            return Self.uploadAccepted(repository, id, size: end)
        case .put:
            let digest = try Self.parseDigest(QueryParameters(request.uri.query)["digest"] ?? "")
            if request.headers[.contentRange] != nil { _ = try Self.chunkStart(request, size: size) }
            try await appendBody(&body, to: id, at: size, registry)
            return try await finishUpload(id, repository, digest, registry)
        case .delete:
            registry.storage.cancel(id)
            try await registry.metadata.endUpload(id)
            return RegistryResponses.empty(.noContent)
        default:
            throw Self.methodNotAllowed(request.method)
        }
    }

    /// Streams the request body into the upload; returns the upload's size after it. A body
    /// that breaks off keeps what arrived (the client resumes from there).
    @discardableResult
    func appendBody(_ request: inout Request, to id: String, at offset: Int64, _ registry: ImageRegistry) async throws(BerthError) -> Int64 {
        let limit = registry.configuration.maximumBlobBytes
        if let declared = request.headers[.contentLength].flatMap(Int64.init), offset + declared > limit {
            registry.storage.cancel(id)
            try? await registry.metadata.endUpload(id)
            throw BerthError.oci(.sizeInvalid, "a blob may hold at most \(limit) bytes", status: .requestEntityTooLarge)
        }
        let appender = try registry.storage.append(to: id, at: offset)
        defer { appender.close() }
        do {
            for try await chunk in request.body {
                try chunk.withUnsafeReadableBytes { (raw) throws(BerthError) in try appender.write(raw) }
                if appender.offset > limit {
                    appender.close()
                    registry.storage.cancel(id)
                    try? await registry.metadata.endUpload(id)
                    throw BerthError.oci(.sizeInvalid, "a blob may hold at most \(limit) bytes", status: .requestEntityTooLarge)
                }
            }
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError.oci(.blobUploadInvalid, "the chunk broke off after \(appender.offset) bytes; resume from there")
        }
        if let declared = request.headers[.contentLength].flatMap(Int64.init), appender.offset != offset + declared {
            throw BerthError.oci(.blobUploadInvalid, "Content-Length said \(declared) bytes, \(appender.offset - offset) arrived")
        }
        return appender.offset
    }

    /// Checks the bytes against the digest, publishes the blob and links it into the repository.
    func finishUpload(_ id: String, _ repository: RepositoryName, _ digest: Digest, _ registry: ImageRegistry) async throws(BerthError) -> Response {
        let size: Int64
        do {
            size = try registry.storage.finish(id, expected: digest)
        } catch {
            if error.ociCode == OCIErrorCode.digestInvalid.rawValue { try? await registry.metadata.endUpload(id) }
            throw error
        }
        do throws(BerthError) {
            try await linkBlob(digest, size: size, into: repository, registry)
        } catch {
            // Refused (quota): the session ends; the blob file goes with the next collection.
            try? await registry.metadata.endUpload(id)
            throw error
        }
        try await registry.metadata.endUpload(id)
        return Self.blobCreated(repository, digest)
    }

    /// Where a chunk starts: its `Content-Range` (`START-END`, as the specification and Docker
    /// write it, or `bytes START-END/TOTAL`), else where the upload ends.
    static func chunkStart(_ request: Request, size: Int64) throws(BerthError) -> Int64 {
        guard let header = request.headers[.contentRange] else { return size }
        var text = Substring(header.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("bytes ") { text = text.dropFirst(6) }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int64(parts[0]), let end = Int64(parts[1]), start >= 0, end >= start - 1 else {
            throw BerthError.oci(.rangeInvalid, "malformed Content-Range \"\(header.prefix(80))\": expected START-END", status: .requestedRangeNotSatisfiable)
        }
        guard start == size else {
            throw BerthError.oci(.rangeInvalid, "the upload holds \(size) bytes; a chunk must start at \(size), not \(start)", status: .requestedRangeNotSatisfiable)
        }
        if let length = request.headers[.contentLength].flatMap(Int64.init), length != end - start + 1 {
            throw BerthError.oci(.rangeInvalid, "Content-Range \(start)-\(end) is \(end - start + 1) bytes but Content-Length is \(length)", status: .requestedRangeNotSatisfiable)
        }
        return start
    }

    static func parseDigest(_ text: String) throws(BerthError) -> Digest {
        guard !text.isEmpty else { throw BerthError.oci(.digestInvalid, "the digest query parameter is required") }
        do { return try Digest(parsing: text) } catch { throw BerthError.oci(.digestInvalid, "invalid digest \"\(text.prefix(80))\": \(error.message)") }
    }

    static func uploadAccepted(_ repository: RepositoryName, _ id: String, size: Int64, status: HTTPResponse.Status = .accepted) -> Response {
        var fields: HTTPFields = [.location: "/v2/\(repository)/blobs/uploads/\(id)"]
        fields[RegistryResponses.range] = "0-\(max(size - 1, 0))"
        fields[RegistryResponses.uploadUUID] = id
        return RegistryResponses.empty(status, fields)
    }

    static func blobCreated(_ repository: RepositoryName, _ digest: Digest) -> Response {
        var fields: HTTPFields = [.location: "/v2/\(repository)/blobs/\(digest)"]
        fields[RegistryResponses.contentDigest] = digest.description
        return RegistryResponses.empty(.created, fields)
    }
}
