import BerthCore
import BerthRegistry
import Hummingbird
import NIOCore

extension APIServer {
    /// The built-in registry on the API address: `/v2/…` through the pipeline (authenticated
    /// and audited there; each request authorized here per repository and action).
    static var registryMount: Mount {
        Mount(name: "registry", matches: { $0 == "/v2" || $0.hasPrefix(RegistryRoute.prefix) }, authorizesItself: true,
              renderError: { server, error, request in RegistryResponses.error(server, error, request) }) { server, request, attributes, _ throws(BerthError) in
            try await server.serveRegistry(request, user: attributes.user)
        }
    }

    func serveRegistry(_ request: Request, user: UserInfo) async throws(BerthError) -> Response {
        guard let registry = imageRegistry else { throw BerthError.oci(.unsupported, "this server runs no registry", status: .notFound) }
        let route = try RegistryRoute(path: request.uri.path)
        let method = request.method
        switch route {
        case .base:
            guard method == .get || method == .head else { throw Self.methodNotAllowed(method) }
            if user.isAnonymous { throw RegistryChallenge.error(scope: nil, message: "authentication required") }
            return RegistryResponses.json([:])
        case .token:
            guard method == .get || method == .post else { throw Self.methodNotAllowed(method) }
            return try await registryToken(request, user: user)
        case .catalog:
            guard method == .get else { throw Self.methodNotAllowed(method) }
            return try await catalog(request, registry, user: user)
        case .tags(let repository):
            guard method == .get else { throw Self.methodNotAllowed(method) }
            try await requireAccess(repository, .pull, user: user)
            return try await tagList(request, repository, registry)
        case .referrers(let repository, let digest):
            guard method == .get else { throw Self.methodNotAllowed(method) }
            try await requireAccess(repository, .pull, user: user)
            return try await referrers(request, repository, digest, registry)
        case .manifest(let repository, let reference):
            switch method {
            case .get, .head:
                try await requireAccess(repository, .pull, user: user)
                return try await getManifest(request, repository, reference, registry)
            case .put:
                try await requireAccess(repository, .push, user: user)
                var body = request
                return try await putManifest(&body, repository, reference, registry)
            case .delete:
                try await requireAccess(repository, .delete, user: user)
                return try await deleteManifest(repository, reference, registry)
            default: throw Self.methodNotAllowed(method)
            }
        case .blob(let repository, let digest):
            switch method {
            case .get, .head:
                try await requireAccess(repository, .pull, user: user)
                return try await getBlob(request, repository, digest, registry)
            case .delete:
                try await requireAccess(repository, .delete, user: user)
                guard try await registry.metadata.unlink(digest, from: repository) else { throw BerthError.oci(.blobUnknown, "blob \(digest) is not in \(repository)") }
                return RegistryResponses.empty(.accepted)
            default: throw Self.methodNotAllowed(method)
            }
        case .startUpload(let repository):
            guard method == .post else { throw Self.methodNotAllowed(method) }
            try await requireAccess(repository, .push, user: user)
            return try await startUpload(request, repository, registry, user: user)
        case .upload(let repository, let id):
            try await requireAccess(repository, .push, user: user)
            return try await continueUpload(request, repository, id, registry)
        }
    }

    static func methodNotAllowed(_ method: HTTPRequest.Method) -> BerthError {
        BerthError.oci(.unsupported, "\(method.rawValue) is not supported here")
    }
}

/// The responder of `--registry-listen`: the registry's paths only (`/v2/…`), through the same
/// pipeline; anything else is the protocol's 404.
public struct RegistryResponder: HTTPResponder {
    public typealias Context = APIRequestContext
    let server: APIServer

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        guard path == "/v2" || path.hasPrefix(RegistryRoute.prefix) else {
            return RegistryResponses.error(server, BerthError.oci(.nameUnknown, "only the registry (/v2/) is served on this address"), request)
        }
        return await server.respond(to: request, channel: context.channel)
    }
}

extension APIServer {
    public var registryResponder: RegistryResponder { RegistryResponder(server: self) }
}
