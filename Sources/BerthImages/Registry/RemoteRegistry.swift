import AsyncHTTPClient
import BerthCore
import Foundation
import Glibc
import NIOCore
import NIOSSL

/// A registry spoken to over the distribution API for replication: list tags, read and write
/// manifests, check, download and upload blobs (uploads stream from a file). Authenticates as
/// the registry asks — Basic, or the token flow — with one credential.
public final class RemoteRegistry: Sendable {
    public let base: String
    let http: HTTPClient
    let authenticator: RegistryAuthenticator

    /// `url`: `https://HOST[:PORT]` or `http://…`. `caPEM` trusts a private CA;
    /// `insecureSkipTLSVerify` trusts anything (tests, never production).
    public init(url: String, credential: RegistryCredential?, caPEM: String? = nil, insecureSkipTLSVerify: Bool = false) throws(BerthError) {
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw BerthError(.badRequest, "invalid registry URL \(url): expected https://HOST[:PORT]")
        }
        base = url.hasSuffix("/") ? String(url.dropLast()) : url
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caPEM {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8))) } catch {
                throw BerthError(.badRequest, "the registry CA is not a PEM certificate: \(error)")
            }
        }
        if insecureSkipTLSVerify { tls.certificateVerification = .none }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        authenticator = RegistryAuthenticator(credential: credential)
    }

    public func shutdown() async { try? await http.shutdown() }

    /// Every tag of a repository (following `Link` pages); empty when the repository is unknown.
    public func tags(_ repository: String) async throws(BerthError) -> [String] {
        var tags: [String] = []
        var path: String? = "/v2/\(repository)/tags/list?n=1000"
        while let next = path {
            let (status, headers, body) = try await send("GET", next, repository: repository, push: false)
            if status == 404 { return tags }
            guard status == 200 else { throw Self.failure(status, body, "listing the tags of \(repository)") }
            tags += (try? JSONParser.parse(body))?["tags"]?.arrayValue?.compactMap(\.stringValue) ?? []
            path = Self.nextPage(headers)
        }
        return tags
    }

    /// The repositories the remote lists (`_catalog`, following pages).
    public func catalog() async throws(BerthError) -> [String] {
        var names: [String] = []
        var path: String? = "/v2/_catalog?n=1000"
        while let next = path {
            let (status, headers, body) = try await send("GET", next, repository: "", push: false, scope: "registry:catalog:*")
            guard status == 200 else { throw Self.failure(status, body, "listing the repositories") }
            names += (try? JSONParser.parse(body))?["repositories"]?.arrayValue?.compactMap(\.stringValue) ?? []
            path = Self.nextPage(headers)
        }
        return names
    }

    /// The digest a tag names there, or nil.
    public func manifestDigest(_ repository: String, _ reference: String) async throws(BerthError) -> Digest? {
        let (status, headers, body) = try await send("HEAD", "/v2/\(repository)/manifests/\(reference)", repository: repository, push: false,
                                                     accept: RegistryClient.manifestAccept)
        if status == 404 { return nil }
        guard status == 200 else { throw Self.failure(status, body, "reading manifest \(repository):\(reference)") }
        return headers["docker-content-digest"].flatMap { try? Digest(parsing: $0) }
    }

    public func manifest(_ repository: String, _ reference: String) async throws(BerthError) -> (mediaType: String, bytes: [UInt8])? {
        let (status, headers, body) = try await send("GET", "/v2/\(repository)/manifests/\(reference)", repository: repository, push: false,
                                                     accept: RegistryClient.manifestAccept)
        if status == 404 { return nil }
        guard status == 200 else { throw Self.failure(status, body, "reading manifest \(repository):\(reference)") }
        return ((headers["content-type"] ?? MediaType.ociManifest).split(separator: ";").first.map(String.init) ?? MediaType.ociManifest, body)
    }

    public func hasBlob(_ repository: String, _ digest: Digest) async throws(BerthError) -> Bool {
        let (status, _, body) = try await send("HEAD", "/v2/\(repository)/blobs/\(digest)", repository: repository, push: true)
        if status == 404 { return false }
        guard status == 200 else { throw Self.failure(status, body, "checking blob \(digest)") }
        return true
    }

    /// Uploads a blob from a file in one request (POST, then PUT with the bytes).
    public func uploadBlob(_ repository: String, _ digest: Digest, file path: String, size: Int64) async throws(BerthError) {
        let (status, headers, body) = try await send("POST", "/v2/\(repository)/blobs/uploads/", repository: repository, push: true)
        guard status == 202, let location = headers["location"] else { throw Self.failure(status, body, "starting an upload of \(digest)") }
        let separator = location.contains("?") ? "&" : "?"
        let target = (location.hasPrefix("http") ? location : base + location) + "\(separator)digest=\(digest)"
        let (putStatus, _, putBody) = try await send("PUT", target, repository: repository, push: true, file: (path, size))
        guard putStatus == 201 else { throw Self.failure(putStatus, putBody, "uploading blob \(digest)") }
    }

    public func putManifest(_ repository: String, _ reference: String, mediaType: String, bytes: [UInt8]) async throws(BerthError) {
        let (status, _, body) = try await send("PUT", "/v2/\(repository)/manifests/\(reference)", repository: repository, push: true,
                                               contentType: mediaType, body: bytes)
        guard status == 201 else { throw Self.failure(status, body, "pushing manifest \(repository):\(reference)") }
    }

    /// Streams a blob's bytes to `consume`; nil status 404.
    public func downloadBlob(_ repository: String, _ digest: Digest, _ consume: (ByteBuffer) throws(BerthError) -> Void) async throws(BerthError) {
        var request = HTTPClientRequest(url: base + "/v2/\(repository)/blobs/\(digest)")
        if let header = await authenticator.header(scope: Self.scope(repository, push: false)) { request.headers.add(name: "Authorization", value: header) }
        do {
            var response = try await http.execute(request, timeout: .seconds(600))
            if response.status == .unauthorized, let header = response.headers.first(name: "WWW-Authenticate"), let challenge = AuthChallenge(header: header) {
                try await authenticator.respond(to: challenge, scope: Self.scope(repository, push: false), over: http)
                if let auth = await authenticator.header(scope: Self.scope(repository, push: false)) { request.headers.replaceOrAdd(name: "Authorization", value: auth) }
                response = try await http.execute(request, timeout: .seconds(600))
            }
            guard response.status == .ok else { throw BerthError(.unavailable, "downloading blob \(digest): HTTP \(response.status.code)") }
            for try await chunk in response.body { try consume(chunk) }
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.unavailable, "downloading blob \(digest) from \(base): \(error)")
        }
    }

    /// The next page a `Link: <PATH>; rel="next"` header names.
    static func nextPage(_ headers: [String: String]) -> String? {
        headers["link"].flatMap { link in link.split(separator: ";").first.map { String($0.trimmingCharacters(in: CharacterSet(charactersIn: " <>"))) } }
    }

    static func scope(_ repository: String, push: Bool) -> String { "repository:\(repository):\(push ? "pull,push" : "pull")" }

    /// One request; a 401 is answered (Basic or a token) and the request sent once more.
    func send(_ method: String, _ pathOrURL: String, repository: String, push: Bool, scope named: String? = nil, accept: String? = nil,
              contentType: String? = nil, body: [UInt8]? = nil, file: (String, Int64)? = nil) async throws(BerthError) -> (Int, [String: String], [UInt8]) {
        let scope = named ?? Self.scope(repository, push: push)
        for attempt in 0..<2 {
            var request = HTTPClientRequest(url: pathOrURL.hasPrefix("http") ? pathOrURL : base + pathOrURL)
            request.method = .init(rawValue: method)
            if let accept { request.headers.add(name: "Accept", value: accept) }
            if let header = await authenticator.header(scope: scope) { request.headers.add(name: "Authorization", value: header) }
            if let body {
                request.headers.add(name: "Content-Type", value: contentType ?? "application/octet-stream")
                request.body = .bytes(ByteBuffer(bytes: body))
            } else if let (path, size) = file {
                request.headers.add(name: "Content-Type", value: "application/octet-stream")
                request.body = .stream(FileChunks(path: path), length: .known(size))
            }
            do {
                let response = try await http.execute(request, timeout: .seconds(600))
                var headers: [String: String] = [:]
                for header in response.headers { headers[header.name.lowercased()] = header.value }
                let bytes = method == "HEAD" ? [] : Array(try await response.body.collect(upTo: 16 << 20).readableBytesView)
                if response.status == .unauthorized, attempt == 0, let header = headers["www-authenticate"], let challenge = AuthChallenge(header: header) {
                    try await authenticator.respond(to: challenge, scope: scope, over: http)
                    continue
                }
                return (Int(response.status.code), headers, bytes)
            } catch let error as BerthError {
                throw error
            } catch {
                throw BerthError(.unavailable, "\(method) \(base): \(error)")
            }
        }
        throw BerthError(.unauthorized, "\(base) refused the credentials for \(repository)")
    }

    static func failure(_ status: Int, _ body: [UInt8], _ what: String) -> BerthError {
        let detail = (try? JSONParser.parse(body))?["errors"]?.arrayValue?.first.map { "\($0["code"]?.stringValue ?? ""): \($0["message"]?.stringValue ?? "")" }
        return BerthError(BerthError.Code(httpStatus: status), "\(what): HTTP \(status)\(detail.map { " \($0)" } ?? "")")
    }
}

/// A file's bytes as a sequence of buffers (an upload's body), a megabyte at a time; the file
/// is closed when the sequence is done or dropped.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String

    final class Descriptor: @unchecked Sendable {
        let fd: Int32
        init(path: String) { fd = open(path, O_RDONLY | O_CLOEXEC) }
        deinit { if fd >= 0 { close(fd) } }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let file: Descriptor

        mutating func next() async throws -> ByteBuffer? {
            guard file.fd >= 0 else { throw BerthError.posix("open", "an upload's source file") }
            var buffer = ByteBufferAllocator().buffer(capacity: 1 << 20)
            let fd = file.fd
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1 << 20) { raw in Swift.max(read(fd, raw.baseAddress!, 1 << 20), 0) }
            return count == 0 ? nil : buffer
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(file: Descriptor(path: path)) }
}
