import BerthCore
import BerthRegistry
import Hummingbird

/// Who may do what to a repository. A repository `NAMESPACE/NAME` is the RBAC resource
/// `repositories` in `registry.berth.dev`, in namespace NAMESPACE, named NAME (so
/// `resourceNames` narrows a rule to single repositories): `get` pulls, `create` or `update`
/// pushes, `delete` deletes. A namespace labelled `registry.berth.dev/public: "true"` lets anyone
/// pull. An anonymous caller refused is challenged to authenticate (401); anyone else is denied (403).
extension APIServer {
    static let registryGroup = "registry.berth.dev"
    static let publicRegistryLabel = "registry.berth.dev/public"

    func mayAccess(_ repository: RepositoryName, _ action: RepositoryAction, user: UserInfo) async throws(BerthError) -> Bool {
        if user.isMaster { return true }
        if action == .pull, await isPublic(namespace: repository.namespace) { return true }
        let verbs: [String]
        switch action {
        case .pull: verbs = ["get"]
        case .push: verbs = ["create", "update"]
        case .delete: verbs = ["delete"]
        }
        let index = try await rbacIndex()
        for verb in verbs {
            let attributes = RequestAttributes(user: user, verb: verb, group: Self.registryGroup, resource: "repositories", subresource: nil,
                                               namespace: repository.namespace, name: repository.name)
            if index.allows(attributes) { return true }
        }
        return false
    }

    /// Refuses the request unless `user` may do `action`.
    func requireAccess(_ repository: RepositoryName, _ action: RepositoryAction, user: UserInfo) async throws(BerthError) {
        guard try await !mayAccess(repository, action, user: user) else { return }
        if user.isAnonymous {
            throw RegistryChallenge.error(scope: "repository:\(repository):\(action == .push ? "pull,push" : action.rawValue)",
                                          message: "authentication required to \(action.rawValue) \(repository)")
        }
        logger.notice("refused a registry request", metadata: ["user": "\(user.name)", "action": "\(action.rawValue)", "repository": "\(repository)"])
        throw BerthError.oci(.denied, "User \"\(user.name)\" may not \(action.rawValue) repository \"\(repository)\" (RBAC: \(Self.verbText(action)) on repositories.\(Self.registryGroup) \"\(repository.name)\" in namespace \"\(repository.namespace)\")")
    }

    static func verbText(_ action: RepositoryAction) -> String {
        switch action {
        case .pull: "get"
        case .push: "create or update"
        case .delete: "delete"
        }
    }

    func isPublic(namespace: String) async -> Bool {
        guard let object = try? await admissionGet(.namespace, name: namespace) else { return false }
        return object.value(at: ["metadata", "labels", Self.publicRegistryLabel])?.stringValue == "true"
    }
}

/// The `WWW-Authenticate` challenge of the Docker token flow, carried on a 401 until the
/// responder words it with the request's own host.
enum RegistryChallenge {
    static let scopeReason = "REGISTRY_SCOPE"

    static func error(scope: String?, message: String) -> BerthError {
        var error = BerthError.oci(.unauthorized, message)
        if let scope { error.causes.append(StatusCause(reason: scopeReason, message: scope)) }
        return error
    }

    static func header(for error: BerthError, host: String) -> String {
        var value = "Bearer realm=\"https://\(host)/v2/token\",service=\"\(ImageRegistry.service)\""
        if let scope = error.causes.first(where: { $0.reason == scopeReason })?.message { value += ",scope=\"\(scope)\"" }
        return value
    }
}
