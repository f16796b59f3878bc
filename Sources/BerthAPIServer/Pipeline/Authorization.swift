import BerthCore
import HTTPTypes
import Hummingbird
import NIOCore

/// The namespaces (or tenants) a user who may not list them all is shown: set by authorization for the
/// request being handled (a task-local box, filled during `authorize` and read by the list).
enum VisibleNamespaces {
    final class Box: @unchecked Sendable {
        var names: Set<String>?
    }

    @TaskLocal static var box: Box?

    static var granted: Set<String>? {
        get { box?.names }
        set { box?.names = newValue }
    }
}

/// An authorizer's answer. `noOpinion` passes the request to the next one in the chain.
enum AuthorizationDecision: Sendable {
    case allow
    case deny(String?)
    case noOpinion
}

/// The second step of every request: an ordered chain of authorizers, the first to allow or
/// deny decides; nobody deciding is a refusal (403, or 401 for an anonymous caller, who may
/// still authenticate). Kubernetes' order: the node authorizer, then RBAC; `system:masters`
/// is allowed before either.
extension APIServer {
    /// Authorizes the request; returns what the node authorizer read to decide (the handler
    /// uses it instead of reading again).
    @discardableResult
    func authorize(_ attributes: RequestAttributes, _ request: inout Request) async throws(BerthError) -> PrefetchedObject? {
        let user = attributes.user
        if user.isMaster { return nil }
        if let scope = user.nodeScope {
            // Nodes are decided here whole: what the node authorizer does not allow is refused.
            if let target = attributes.target {
                return try await authorizeNode(scope, &request, target, verb: attributes.verb)
            }
            if Self.isDiscovery(attributes) { return nil }
            throw attributes.forbidden("not allowed for nodes")
        }
        switch Self.publicDecision(attributes) {
        case .allow: return nil
        case .deny(let reason): throw refusal(attributes, reason)
        case .noOpinion: break
        }
        let index = try await rbacIndex()
        if index.allows(attributes) { return nil }
        // A user who may not list every namespace lists those they hold a role in
        // (kubernetes/kubernetes#48537), in lists and watches (`ListSelection` filters by `VisibleNamespaces`).
        if attributes.verb == "list" || attributes.verb == "watch", attributes.name == nil, !attributes.user.isAnonymous {
            if attributes.resource == "namespaces", attributes.apiGroup.isEmpty {
                VisibleNamespaces.granted = index.namespacesWithRules(for: attributes.user)
                return nil
            }
            // Likewise a tenant's owners list their own tenants.
            if attributes.resource == "tenants", attributes.apiGroup == "berth.dev" {
                VisibleNamespaces.granted = Set(try await tenantIndex().owned(by: attributes.user))
                return nil
            }
        }
        throw refusal(attributes, nil)
    }

    func refusal(_ attributes: RequestAttributes, _ reason: String?) -> BerthError {
        if attributes.user.isAnonymous { return BerthError(.unauthorized, reason ?? "Unauthorized") }
        logger.notice("refused a request", metadata: ["user": "\(attributes.user.name)", "verb": "\(attributes.verb)",
                                                    "resource": "\(attributes.qualifiedResource)", "path": "\(attributes.path)"])
        return attributes.forbidden(reason)
    }

    /// Paths anyone may read (health, version, the cluster CA a joining host checks), what
    /// every authenticated user may read (discovery and OpenAPI, Kubernetes'
    /// `system:discovery`), and the one thing a bootstrap token may do: join.
    static func publicDecision(_ attributes: RequestAttributes) -> AuthorizationDecision {
        let path = attributes.path
        if attributes.target == nil, attributes.verb == "get",
           publicPaths.contains(path) || path.hasPrefix("/healthz") || path.hasPrefix("/livez") || path.hasPrefix("/readyz") {
            return .allow
        }
        if path == JoinPaths.join, attributes.user.isAnonymous { return .deny("joining needs a bootstrap token (berth token create)") }
        if attributes.user.bootstrapTokenID != nil {
            if path == JoinPaths.join && attributes.verb == "post" { return .allow }
            return .deny("a bootstrap token may only be used to join (\(JoinPaths.join))")
        }
        if !attributes.user.isAnonymous, isDiscovery(attributes) || isSelfReview(attributes) { return .allow }
        return .noOpinion
    }

    /// What every authenticated user may ask about themselves (Kubernetes' `system:basic-user`):
    /// `kubectl auth can-i` and `kubectl auth whoami`.
    static func isSelfReview(_ attributes: RequestAttributes) -> Bool {
        attributes.target == nil && attributes.verb == "post" && SelfReviewPaths.all.contains(attributes.path)
    }

    static let publicPaths: Set<String> = ["/version", "/healthz", "/livez", "/readyz", JoinPaths.clusterCA]

    /// `/api`, `/apis`, `/api/v1`, `/apis/GROUP[/VERSION]`, `/openapi/…`, `/version`: reads only.
    static func isDiscovery(_ attributes: RequestAttributes) -> Bool {
        guard attributes.target == nil, attributes.verb == "get" else { return false }
        let path = attributes.path
        return path == "/api" || path == "/api/v1" || path == "/apis" || path.hasPrefix("/apis/") || path.hasPrefix("/openapi/")
            || path == "/version"
    }
}

extension APIServer {
    /// The pipeline for a WebSocket upgrade (exec, attach, port-forward), decided before the
    /// upgrade: authenticate, then authorize `create` on `pods/SUBRESOURCE` (as Kubernetes
    /// asks since 1.30), audited either way. A refusal is answered on the connection with
    /// its Status (401 or 403) instead of the upgrade.
    func authorizeUpgrade(_ request: HTTPRequest, path: String, namespace: String, name: String, subresource: String,
                          channel: (any Channel)?) async -> Bool {
        guard let refusal = await upgradeRefusal(request, path: path, namespace: namespace, name: name, subresource: subresource, channel: channel) else {
            return true
        }
        let status = refusal.code.httpStatus
        await channel?.refuseUpgrade(status: status, reason: status == 401 ? "Unauthorized" : "Forbidden", message: refusal.message)
        return false
    }

    /// The pipeline for an upgrade up to the handler: nil when the caller may go on, else why
    /// not (401 or 403); audited either way.
    func upgradeRefusal(_ request: HTTPRequest, path: String, namespace: String, name: String, subresource: String,
                        channel: (any Channel)?) async -> BerthError? {
        let received = clock.now()
        let target = ResourceTarget(descriptor: .pod, namespace: namespace, name: name, subresource: subresource)
        var attributes = RequestAttributes(user: .anonymous, verb: "create", path: path, target: target)
        var refusal: BerthError?
        do throws(BerthError) {
            attributes.user = try await authenticate(request.headerFields, channel: channel, path: path)
            var placeholder = Request(head: request, body: RequestBody(buffer: ByteBuffer()))
            _ = try await authorize(attributes, &placeholder)
        } catch {
            refusal = error
        }
        if let audit {
            let recorded = Request(head: request, body: RequestBody(buffer: ByteBuffer()))
            audit.record(attributes, request: recorded, status: refusal?.code.httpStatus ?? 101, received: received, finished: clock.now())
        }
        return refusal
    }
}
