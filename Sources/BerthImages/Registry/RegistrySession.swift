import AsyncHTTPClient
import BerthCore
import Foundation
import Glibc
import NIOCore
import NIOHTTP1

/// One pull's conversation with a registry: requests for one repository, answering auth
/// challenges once and retrying.
struct RegistrySession: Sendable {
    let client: RegistryClient
    let reference: ImageReference
    let authenticator: RegistryAuthenticator

    var scope: String { "repository:\(reference.repository):pull" }
    var base: String { client.baseURL(for: reference.registry) + "/v2/\(reference.repository)" }

    /// The manifest (or index) for a tag or digest, with its media type.
    func manifest(_ tagOrDigest: String) async throws(BerthError) -> (String, [UInt8]) {
        let response = try await send("\(base)/manifests/\(tagOrDigest)", accept: RegistryClient.manifestAccept)
        guard response.status == .ok else {
            throw Self.error(response.status, what: "manifest \(reference.name):\(tagOrDigest)")
        }
        let bytes: [UInt8]
        do {
            bytes = Array(try await response.body.collect(upTo: 8 << 20).readableBytesView)
        } catch {
            throw BerthError(.badRequest, "failed to read manifest of \(reference): \(error)")
        }
        var mediaType = response.headers.first(name: "Content-Type")?.split(separator: ";").first.map(String.init) ?? ""
        if !MediaType.isIndex(mediaType) && !MediaType.isManifest(mediaType) {
            // Some registries answer application/json; the document says what it is.
            let json = try? JSONParser.parse(bytes)
            mediaType = json?["mediaType"]?.stringValue ?? (json?["manifests"] != nil ? MediaType.ociIndex : MediaType.ociManifest)
        }
        return (mediaType, bytes)
    }

    /// Streams a blob into the content store, verifying digest and size; skips blobs already there.
    func blob(_ descriptor: Descriptor) async throws(BerthError) {
        if client.store.content.contains(descriptor.digest) { return }
        if linkFromClusterRegistry(descriptor) { return }
        let response = try await send("\(base)/blobs/\(descriptor.digest)", accept: "*/*")
        guard response.status == .ok else { throw Self.error(response.status, what: "blob \(descriptor.digest)") }
        let writer = try BlobWriter(store: client.store.content, algorithm: descriptor.digest.algorithm)
        do {
            for try await chunk in response.body {
                try chunk.withUnsafeReadableBytes { (raw) throws(BerthError) in try writer.append(raw) }
                if writer.written > descriptor.size { break }
            }
        } catch let error as BerthError {
            throw error
        } catch {
            throw BerthError(.unavailable, "failed to download \(descriptor.digest): \(error)")
        }
        _ = try writer.commit(expected: descriptor.digest, expectedSize: descriptor.size)
        client.logger.debug("blob fetched", metadata: ["digest": "\(descriptor.digest)", "bytes": "\(descriptor.size)"])
    }

    /// On `berth up` the cluster registry's blob files are on this filesystem: a blob the
    /// manifest (fetched with the pod's rights) names is taken by hard link — no second copy,
    /// no download. The registry checked its digest when it was pushed; the size is checked here.
    private func linkFromClusterRegistry(_ descriptor: Descriptor) -> Bool {
        guard reference.registry == client.cluster?.host, let root = client.cluster?.localBlobs else { return false }
        let source = "\(root)/blobs/\(descriptor.digest.algorithm)/\(descriptor.digest.hex)"
        var info = stat()
        guard stat(source, &info) == 0, Int64(info.st_size) == descriptor.size else { return false }
        let target = client.store.content.path(for: descriptor.digest)
        try? PosixFS.makeDirectories("\(client.store.content.root)/blobs/\(descriptor.digest.algorithm)")
        guard link(source, target) == 0 || errno == EEXIST else { return false }
        client.logger.debug("blob linked from the cluster registry", metadata: ["digest": "\(descriptor.digest)"])
        return true
    }

    /// GET with the current credentials; on 401, answers the challenge and tries once more.
    private func send(_ url: String, accept: String) async throws(BerthError) -> HTTPClientResponse {
        var response = try await get(url, accept: accept, authorization: await authenticator.header(scope: scope))
        if response.status == .unauthorized, let header = response.headers.first(name: "WWW-Authenticate"), let challenge = AuthChallenge(header: header) {
            try await authenticator.respond(to: challenge, scope: scope, over: client.http(for: reference.registry))
            response = try await get(url, accept: accept, authorization: await authenticator.header(scope: scope))
            if response.status == .unauthorized {
                throw BerthError(.unauthorized, "the registry refused the credentials for \(reference.name)")
            }
        }
        return response
    }

    private func get(_ url: String, accept: String, authorization: String?) async throws(BerthError) -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: "berth/0.1")
        if let authorization { request.headers.add(name: "Authorization", value: authorization) }
        do {
            return try await client.http(for: reference.registry).execute(request, timeout: .seconds(300))
        } catch {
            throw BerthError(.unavailable, RegistryReachability.describe(error, registry: reference.registry))
        }
    }

    static func error(_ status: HTTPResponseStatus, what: String) -> BerthError {
        switch status.code {
        case 404: BerthError(.notFound, "\(what) not found")
        case 401, 403: BerthError(.unauthorized, "access to \(what) denied")
        case 429: BerthError(.tooManyRequests, "registry rate limit reached fetching \(what)")
        default: BerthError(.unavailable, "registry answered HTTP \(status.code) for \(what)")
        }
    }
}
