import BerthCore
import Foundation
import Logging

/// Gives every namespace its `default` ServiceAccount, and puts it back if it is deleted, as
/// Kubernetes' service account controller does. A namespace being deleted gets none.
public final class ServiceAccountController: Reconciler {
    public let name = "serviceaccount"
    public let queue = WorkQueue()
    let namespaces: Informer<Namespace>
    let accounts: Informer<ServiceAccount>
    let api: ResourceAPI
    let logger: Logger

    public init(namespaces: Informer<Namespace>, accounts: Informer<ServiceAccount>, api: ResourceAPI, logger: Logger) {
        self.namespaces = namespaces
        self.accounts = accounts
        self.api = api
        self.logger = logger
        namespaces.addHandler { [queue] event in
            switch event {
            case .added(let namespace): queue.add(namespace.metadata.name ?? "")
            case .updated, .deleted: break
            }
        }
        accounts.addHandler { [queue] event in
            if case .deleted(let account) = event, account.metadata.name == "default" { queue.add(account.metadata.namespace ?? "") }
        }
    }

    public func reconcile(_ key: String) async throws {
        guard let namespace = namespaces.get(key), namespace.metadata.deletionTimestamp == nil else { return }
        guard accounts.get(Informer<ServiceAccount>.key(namespace: key, name: "default")) == nil else { return }
        // Made meanwhile, or the namespace started terminating: nothing to do.
        if let failure = await create(ServiceAccount(metadata: ObjectMeta(name: "default", namespace: key))),
           failure.code != .alreadyExists, failure.code != .forbidden {
            throw failure
        }
    }

    private func create(_ account: ServiceAccount) async -> BerthError? {
        do {
            try await api.create(ResourceDescriptor.serviceAccount, namespace: account.metadata.namespace, account)
            return nil
        } catch {
            return error
        }
    }
}
